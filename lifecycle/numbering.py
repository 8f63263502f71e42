"""Standard numbers, as ruled by JGSW01001 §4 (内部标准编号规则).

A number is ``JGSW`` + category (2 digits, §4.2) + sub-item (3 digits, §4.3)
+ ``—`` + approval year (§4.4), e.g. ``JGSW05001—2018``. Without its year it
names the standard across its editions (``JGSW05001``); with it, one edition.
Revising a standard keeps category and sub-item and changes only the year.

This module is the one place that knows these rules. Parsing accepts the
spellings people and the seed document actually use (any case, spaces,
full-width characters, any dash or none before a 4-digit year, ``JGSW/``,
``YNJGSW``) and always returns canonical values; anything else raises a
:class:`NumberError` whose ``reason`` names the first part that is wrong.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

PREFIX = "JGSW"
DASH = "—"  # canonical em dash U+2014 (JGSW01001 §4.4)

MIN_YEAR = 1949
MAX_YEAR = 2100
# The days the register speaks of: the years an edition number may carry.
FIRST_DAY = date(MIN_YEAR, 1, 1)
LAST_DAY = date(MAX_YEAR, 12, 31)

# Digits as people type them: ASCII, and the full-width ones of Chinese input
# methods. NFKC would also read superscript, subscript, circled and
# mathematical digits as ASCII ones: those are refused, not guessed at.
TYPED_DIGITS = frozenset("0123456789０１２３４５６７８９")


@dataclass(frozen=True)
class Category:
    """A 职能行业分类 of JGSW01001 §4.2."""

    code: str  # "05"
    name: str  # "后勤服务标准"
    name_en: str  # "logistics services"


CATEGORIES: dict[str, Category] = {
    c.code: c
    for c in (
        Category("01", "基础通用标准", "basic general standards"),
        Category("02", "机关经费管理标准", "office funds management"),
        Category("03", "资产管理标准", "asset management"),
        Category("04", "公共机构节约能源资源标准", "public-institution energy and resource saving"),
        Category("05", "后勤服务标准", "logistics services"),
        Category("06", "其他管理标准", "other management"),
    )
}

REASONS = frozenset({
    "empty", "prefix", "category-digits", "unknown-category", "sub-item-digits",
    "sub-item-range", "year-digits", "two-digit-year", "year-range", "trailing-text",
    "year-required", "year-not-allowed", "malformed",
})


class NumberError(ValueError):
    """Says precisely what is wrong with a number.

    ``text`` is the input as given, ``reason`` a slug from :data:`REASONS`,
    ``message`` one English sentence quoting the offending part plus a short
    Chinese gloss in parentheses. ``str(err) == err.message``.
    """

    def __init__(self, text: str, reason: str, message: str) -> None:
        if reason not in REASONS:
            raise ValueError(f"unknown NumberError reason {reason!r}")
        super().__init__(message)
        self.text = text
        self.reason = reason
        self.message = message

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> tuple[type[NumberError], tuple[str, str, str]]:
        # keep it picklable despite the custom __init__
        return (type(self), (self.text, self.reason, self.message))


@dataclass(frozen=True, order=True)
class StandardCode:
    """One standard across its editions, e.g. ``JGSW05001``."""

    category: str  # "05"
    sub_item: str  # "001"

    def __post_init__(self) -> None:
        shown = f"{self.category!s}{self.sub_item!s}"
        if not (isinstance(self.category, str) and _is_digits(self.category, 2)):
            raise NumberError(shown, "category-digits",
                              f"category {_q(self.category)} is not 2 digits"
                              f" (职能行业分类代号为两位数字)")
        if self.category not in CATEGORIES:
            raise _unknown_category(self.category, shown)
        if not (isinstance(self.sub_item, str) and _is_digits(self.sub_item, 3)):
            raise NumberError(shown, "sub-item-digits",
                              f"sub-item {_q(self.sub_item)} is not 3 digits"
                              f" (分项代号为三位数字)")

    def __str__(self) -> str:
        return f"{PREFIX}{self.category}{self.sub_item}"

    def edition(self, year: int) -> EditionNumber:
        """This standard's edition approved in ``year``."""
        return EditionNumber(self, year)


@dataclass(frozen=True, order=True)
class EditionNumber:
    """One edition of a standard, e.g. ``JGSW05001—2018``."""

    code: StandardCode
    year: int

    def __post_init__(self) -> None:
        if not isinstance(self.code, StandardCode):
            raise NumberError(str(self.code), "malformed",
                              f"{_q(self.code)} is not a StandardCode (标准编号格式错误)")
        if isinstance(self.year, bool) or not isinstance(self.year, int):
            raise NumberError(f"{self.code}{DASH}{self.year}", "year-digits",
                              f"year {_q(self.year)} is not a whole number (年代号应为四位数字)")
        _check_year_range(str(self.year), f"{self.code}{DASH}{self.year}")

    def __str__(self) -> str:
        return f"{self.code}{DASH}{self.year}"


# --- parsing -------------------------------------------------------------

_DASHES = "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u2e3a\u2e3b\ufe58\ufe63\uff0d"
_D = "[" + re.escape(_DASHES) + "]"

# Runs on the NFKC form of the input; only the prefix must match for the
# pattern to match, everything after it is classified by _classify().
_NUMBER = re.compile(
    rf"""
    \s*
    (?P<prefix> (?:YN\s*)? JGSW \s* (?:/\s*)? )  # JGSW, JGSW/, YNJGSW (the seed's spellings)
    (?P<body>   [0-9](?:\s*[0-9])* )?          # category + sub-item (+ year when unseparated)
    \s*
    (?P<dash>   {_D}(?:\s*{_D})* )?             # -, －, –, —, ——, ...
    \s*
    (?P<year>   [0-9](?:\s*[0-9])* )?
    \s*
    (?P<rest>   .*? )
    \s*$
    """,
    re.IGNORECASE | re.VERBOSE | re.DOTALL,
)


def parse(text: str) -> StandardCode | EditionNumber:
    """Parse a standard number, with or without its year code."""
    norm = _normalise(text)
    m = _NUMBER.match(norm)
    if m is None:
        raise _prefix_error(text, norm)
    return _classify(text, m)


def parse_code(text: str) -> StandardCode:
    """Parse a standard number without year (``JGSW05001``)."""
    number = parse(text)
    if isinstance(number, StandardCode):
        return number
    raise NumberError(text, "year-not-allowed",
                      f"{_q(text)} carries the year {_q(number.year)} where a standard without year"
                      f" is expected: use {_q(number.code)} (此处应为不带年代号的标准编号)")


def parse_edition(text: str) -> EditionNumber:
    """Parse an edition number, year required (``JGSW05001—2018``)."""
    number = parse(text)
    if isinstance(number, EditionNumber):
        return number
    raise NumberError(text, "year-required", f"{_q(text)} has no approval year: an edition needs one,"
                      f" e.g. {_q(number.edition(2018))} (缺少批准年代号)")


def parse_category(text: str | int) -> Category:
    """``"5"``, ``"05"``, ``"０５"`` or ``5`` -> the category 05."""
    digits = _small_number(text, "category-digits", 2, "category", "职能行业分类代号为两位数字")
    code = digits.zfill(2)
    if code not in CATEGORIES:
        raise _unknown_category(code, str(text))
    return CATEGORIES[code]


def parse_sub_item(text: str | int) -> str:
    """``"1"``, ``"001"`` or ``1`` -> ``"001"``; range 000–999."""
    digits = _small_number(text, "sub-item-digits", 3, "sub-item", "分项代号为三位数字")
    if int(digits) > 999:
        raise _sub_item_range(digits, str(text))
    return digits.zfill(3)


def make_code(category: str, sub_item: str | int) -> StandardCode:
    """A validated StandardCode from its two parts (any accepted spelling)."""
    return StandardCode(parse_category(category).code, parse_sub_item(sub_item))


def next_sub_item(used: Iterable[str | int]) -> str:
    """The next free sub-item, "顺延编号" (JGSW01001 §4.3, DOMAIN.md §1).

    The lowest unused sub-item above the highest one in use; when none is
    left above it, the lowest unused one from 001. A number once drafted is
    used for ever, so a mistyped 999 costs one number, not the category.
    ``000`` (the category's general requirements) is never given out
    automatically. ``"001"`` when none is used.
    """
    taken = {int(parse_sub_item(u)) for u in used}
    above = max(taken, default=0) + 1
    free = next((n for n in range(above, 1000) if n not in taken), None)
    if free is None:
        free = next((n for n in range(1, 1000) if n not in taken), None)
    if free is None:
        raise NumberError("999", "sub-item-range",
                          "every sub-item from '001' to '999' is used in this category"
                          " (该分类分项代号已用尽)")
    return f"{free:03d}"


# --- helpers -------------------------------------------------------------


def _q(part: object) -> str:
    return f"'{part}'"


def _is_digits(s: str, n: int) -> bool:
    return len(s) == n and all(c in "0123456789" for c in s)


def _normalise(text: object, what: str = "standard number",
               example: str = "JGSW05001—2018", reason: str = "malformed") -> str:
    """NFKC (full-width letters, digits and dashes become ASCII); refuse blanks
    and digits that people do not type (superscripts, circled …)."""
    if not isinstance(text, str):
        raise NumberError(str(text), "malformed",
                          f"a {what} must be text, got {type(text).__name__}"
                          f" {_q(text)} (编号应为文本)")
    odd = next((ch for ch in text if ch not in TYPED_DIGITS
                and any(c.isascii() and c.isdigit() for c in unicodedata.normalize("NFKC", ch))), None)
    if odd is not None:
        raise NumberError(text, reason,
                          f"{_q(odd)} (U+{ord(odd):04X}) in the {what} {_q(text)} is not a digit as"
                          f" typed: write 0–9, or full-width ０–９ (编号只用阿拉伯数字)")
    norm = unicodedata.normalize("NFKC", text).replace("\u200b", "").replace("\ufeff", "")
    if not norm.strip():
        raise NumberError(text, "empty",
                          f"the {what} {_q(text)} is empty: expected e.g. {_q(example)}"
                          f" (编号为空)")
    return norm


def _prefix_error(text: str, norm: str) -> NumberError:
    lead = re.match(r"\s*([^\W\d_]+)", norm)
    if lead:
        return NumberError(text, "prefix",
                           f"unknown prefix {_q(lead.group(1))} in {_q(text)}:"
                           f" standard numbers start with 'JGSW' (编号应以 JGSW 开头)")
    return NumberError(text, "prefix",
                       f"missing prefix 'JGSW' before {_q(norm.strip())}: standard numbers"
                       f" start with 'JGSW' (编号应以 JGSW 开头)")


def _classify(text: str, m: re.Match) -> StandardCode | EditionNumber:
    """Check the matched parts left to right; the first wrong one is reported."""
    body = re.sub(r"\s", "", m["body"] or "")
    year = re.sub(r"\s", "", m["year"] or "")
    if not m["dash"] and len(body) > 5:  # "JGSW050012018": the year follows unseparated
        body, year = body[:5], body[5:]
    code = _check_code_digits(text, body, m)
    if m["dash"] or year:
        _check_year(text, year, m)
    if m["rest"]:
        raise NumberError(text, "trailing-text",
                          f"unexpected text {_q(m['rest'])} after the number in {_q(text)}"
                          f" (编号后有多余内容)")
    return code.edition(int(year)) if year else code


def _check_code_digits(text: str, body: str, m: re.Match) -> StandardCode:
    if len(body) > 5:  # only reachable with a dash: too many digits before it
        raise NumberError(text, "sub-item-digits",
                          f"{_q(body)} in {_q(text)} has {len(body)} digits before the dash,"
                          f" needs 5: 2 for the category and 3 for the sub-item"
                          f" (分类代号两位、分项代号三位)")
    if len(body) < 2 or (len(body) < 5 and body[0] != "0"):
        raise _category_digits(text, body, m)
    if body[:2] not in CATEGORIES:
        raise _unknown_category(body[:2], text)
    if len(body) < 5:
        raise _sub_item_digits(text, body)
    return StandardCode(body[:2], body[2:])


def _sub_item_digits(text: str, body: str) -> NumberError:
    sub = body[2:]
    what = (f"sub-item {_q(sub)} in {_q(text)} has {len(sub)} digit{'' if len(sub) == 1 else 's'}"
            if sub else f"no sub-item after category {_q(body)} in {_q(text)}")
    return NumberError(text, "sub-item-digits",
                       f"{what}, needs 3: found {len(body)} digits {_q(body)} after the prefix"
                       f" where category and sub-item need 5 (分项代号为三位数字)")


def _category_digits(text: str, body: str, m: re.Match) -> NumberError:
    if not body:
        after = m.string[m.end("prefix"):].strip()
        found = _q(after) if after else "nothing"
        return NumberError(text, "category-digits",
                           f"expected a 2-digit category after 'JGSW' in {_q(text)}, found {found}"
                           f" (职能行业分类代号为两位数字)")
    return NumberError(text, "category-digits",
                       f"only {len(body)} digit{'' if len(body) == 1 else 's'} {_q(body)} after the"
                       f" prefix in {_q(text)}: needs 5, a 2-digit category (01 to 06) and a"
                       f" 3-digit sub-item (职能行业分类代号为两位数字)")


def _check_year(text: str, year: str, m: re.Match) -> None:
    if not year:
        after = m["rest"]
        found = f"found {_q(after)}" if after else "found nothing"
        raise NumberError(text, "year-digits",
                          f"expected a 4-digit year after the dash in {_q(text)}, {found}"
                          f" (年代号应为四位数字)")
    if len(year) == 2:
        raise NumberError(text, "two-digit-year",
                          f"two-digit year {_q(year)} in {_q(text)}: write all four digits of"
                          f" the approval year (年代号应写四位年份)")
    if len(year) != 4:
        raise NumberError(text, "year-digits",
                          f"year {_q(year)} in {_q(text)} has {len(year)} digit"
                          f"{'' if len(year) == 1 else 's'}, needs 4 (年代号应为四位数字)")
    _check_year_range(year, text)


def _check_year_range(year: str, text: str) -> None:
    if not MIN_YEAR <= int(year) <= MAX_YEAR:
        raise NumberError(text, "year-range",
                          f"year {_q(year)} in {_q(text)} is out of range: years run from"
                          f" {MIN_YEAR} to {MAX_YEAR} (年代号超出范围)")


def _unknown_category(code: str, text: str) -> NumberError:
    return NumberError(text, "unknown-category",
                       f"unknown category {_q(code)} in {_q(text)}: categories are 01 to 06"
                       f" (职能行业分类代号只有 01–06)")


def _sub_item_range(value: object, text: str) -> NumberError:
    return NumberError(text, "sub-item-range",
                       f"sub-item {_q(value)} is out of range: sub-items run 000 to 999"
                       f" (分项代号为 000–999)")


def _small_number(text: str | int, reason: str, width: int, what: str, gloss: str) -> str:
    """The digits of a category or sub-item given alone, as text or int."""
    if isinstance(text, bool) or not isinstance(text, (str, int)):
        raise NumberError(str(text), "malformed",
                          f"a {what} must be text or a whole number, got {_q(text)}"
                          f" ({gloss})")
    if isinstance(text, int):
        if text < 0 or (what == "sub-item" and text > 999):
            raise (_sub_item_range(text, str(text)) if what == "sub-item"
                   else _unknown_category(str(text), str(text)))
        return str(text)
    digits = _normalise(text, what, "5" if what == "category" else "001", reason).strip()
    if not all(c in "0123456789" for c in digits):
        raise NumberError(text, reason, f"{what} {_q(digits)} is not a number ({gloss})")
    if len(digits) > width and not (what == "sub-item" and int(digits) > 999):
        raise NumberError(text, reason,
                          f"{what} {_q(digits)} has {len(digits)} digits, needs at most"
                          f" {width} ({gloss})")
    return digits
