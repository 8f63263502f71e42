"""The numbering rules of JGSW01001 §4, as lifecycle.numbering implements them."""

from __future__ import annotations

import pickle

import pytest

from lifecycle import numbering
from lifecycle.numbering import (
    CATEGORIES,
    DASH,
    PREFIX,
    Category,
    EditionNumber,
    NumberError,
    StandardCode,
    make_code,
    next_sub_item,
    parse,
    parse_category,
    parse_code,
    parse_edition,
    parse_sub_item,
)

# --- accepted spellings -------------------------------------------------------

EDITION_SPELLINGS = [
    ("JGSW05001—2018", "canonical em dash"),
    ("JGSW05001-2018", "hyphen-minus"),
    ("JGSW05001－2018", "full-width hyphen"),
    ("JGSW05001–2018", "en dash"),
    ("JGSW05001―2018", "horizontal bar"),
    ("JGSW05001‐2018", "hyphen U+2010"),
    ("JGSW05001‑2018", "non-breaking hyphen U+2011"),
    ("JGSW05001‒2018", "figure dash U+2012"),
    ("JGSW05001−2018", "minus sign U+2212"),
    ("JGSW05001——2018", "double em dash"),
    ("JGSW05001--2018", "double hyphen"),
    ("JGSW05001 - 2018", "spaces around the dash"),
    ("JGSW 05001 - 2018", "space after the prefix"),
    ("  JGSW05001-2018  ", "surrounding spaces"),
    ("\tJGSW05001—2018\n", "surrounding tabs and newline"),
    ("JGSW05001\u30002018", "ideographic space as separator"),
    ("JGSW 05 001 - 2018", "space between category and sub-item"),
    ("jgsw05001-2018", "lower case"),
    ("Jgsw05001-2018", "mixed case"),
    ("ＪＧＳＷ０５００１－２０１８", "full-width everything"),
    ("ＪＧＳＷ05001—2018", "full-width prefix"),
    ("JGSW050012018", "no separator before a 4-digit year"),
    ("JGSW05001 2018", "space as the only separator"),
    ("JGSW/05001-2018", "slash after the prefix (seed)"),
    ("JGSW / 05001-2018", "spaced slash after the prefix"),
    ("JGSW／05001-2018", "full-width slash"),
    ("YNJGSW05001-2018", "province prefix (seed)"),
    ("ynjgsw05001-2018", "province prefix, lower case"),
    ("YN JGSW05001-2018", "province prefix, spaced"),
    ("JGSW05001\u200b—2018", "zero-width space"),
]

CODE_SPELLINGS = [
    ("JGSW05001", "canonical"),
    ("jgsw05001", "lower case"),
    (" JGSW05001 ", "surrounding spaces"),
    ("JGSW 05001", "space after prefix"),
    ("JGSW 05 001", "space inside"),
    ("ＪＧＳＷ０５００１", "full-width"),
    ("JGSW/05001", "slash after the prefix"),
    ("YNJGSW05001", "province prefix"),
]


@pytest.mark.parametrize("text,why", EDITION_SPELLINGS, ids=[w for _, w in EDITION_SPELLINGS])
def test_accepted_edition_spellings_normalise(text, why):
    number = parse(text)
    assert isinstance(number, EditionNumber)
    assert str(number) == "JGSW05001—2018"
    assert number == StandardCode("05", "001").edition(2018)


@pytest.mark.parametrize("text,why", CODE_SPELLINGS, ids=[w for _, w in CODE_SPELLINGS])
def test_accepted_code_spellings_normalise(text, why):
    number = parse(text)
    assert isinstance(number, StandardCode)
    assert str(number) == "JGSW05001"


@pytest.mark.parametrize("text,canonical", [
    ("JGSW/01001-2018", "JGSW01001—2018"),   # JGSW01002 §2.3.1
    ("YNJGSW01003-2018", "JGSW01003—2018"),  # JGSW01003's cover
    ("JGSW05000-2018", "JGSW05000—2018"),    # sub-item 000, the category standard
    ("JGSW06999—2100", "JGSW06999—2100"),
    ("JGSW01001—1949", "JGSW01001—1949"),
])
def test_seed_spellings_and_bounds(text, canonical):
    assert str(parse(text)) == canonical


SEED_TABLE = [  # JGSW01001 §5, the allocation table
    "JGSW01001—2018", "JGSW01002—2018", "JGSW01003—2018", "JGSW01004—2018",
    "JGSW05000—2018", "JGSW05001—2018", "JGSW05002—2018", "JGSW05003—2018",
    "JGSW05004—2018",
]


@pytest.mark.parametrize("text", SEED_TABLE + ["JGSW05001", "JGSW01000", "JGSW06999"])
def test_canonical_forms_round_trip(text):
    assert str(parse(text)) == text


@pytest.mark.parametrize("text", SEED_TABLE)
def test_edition_parts(text):
    edition = parse_edition(text)
    assert edition.year == 2018
    assert str(edition.code) == text[:9]
    assert edition.code.category == text[4:6]
    assert edition.code.sub_item == text[6:9]


# --- refused spellings ----------------------------------------------------------

ERRORS = [
    # text, reason, the part the message must quote
    ("", "empty", "''"),
    ("   ", "empty", "'   '"),
    ("\u3000", "empty", "'\u3000'"),
    ("GB/T 1.1-2009", "prefix", "'GB'"),
    ("GB/T 19001-2016", "prefix", "'GB'"),
    ("05001-2018", "prefix", "'05001-2018'"),
    ("JGS05001-2018", "prefix", "'JGS'"),
    ("YN05001-2018", "prefix", "'YN'"),
    ("标准05001", "prefix", "'标准'"),
    ("JGSW", "category-digits", "'JGSW'"),
    ("JGSW-05001-2018", "category-digits", "'-05001-2018'"),
    ("JGSWX05001", "category-digits", "'X05001'"),
    ("JGSW5", "category-digits", "'5'"),
    ("JGSW5001-2018", "category-digits", "'5001'"),
    ("JGSW07001", "unknown-category", "'07'"),
    ("JGSW00001", "unknown-category", "'00'"),
    ("JGSW99001-2018", "unknown-category", "'99'"),
    ("JGSW0701-2018", "unknown-category", "'07'"),
    ("JGSW0501-2018", "sub-item-digits", "'01'"),
    ("JGSW051", "sub-item-digits", "'1'"),
    ("JGSW05", "sub-item-digits", "'05'"),
    ("JGSW050011-2018", "sub-item-digits", "'050011'"),
    ("JGSW05001-18", "two-digit-year", "'18'"),
    ("JGSW05001—99", "two-digit-year", "'99'"),
    ("JGSW0500118", "two-digit-year", "'18'"),
    ("JGSW05001-20188", "year-digits", "'20188'"),
    ("JGSW05001-201", "year-digits", "'201'"),
    ("JGSW05001-2", "year-digits", "'2'"),
    ("JGSW05001-", "year-digits", "'JGSW05001-'"),
    ("JGSW05001—abc", "year-digits", "'abc'"),
    ("JGSW050012", "year-digits", "'2'"),
    ("JGSW05001-1900", "year-range", "'1900'"),
    ("JGSW05001-1948", "year-range", "'1948'"),
    ("JGSW05001-2101", "year-range", "'2101'"),
    ("JGSW05001-0000", "year-range", "'0000'"),
    ("JGSW05001-2018abc", "trailing-text", "'abc'"),
    ("JGSW05001—2018 修订", "trailing-text", "'修订'"),
    ("JGSW05001abc", "trailing-text", "'abc'"),
    ("JGSW05001 (2018)", "trailing-text", "'(2018)'"),
    ("JGSW05001—2018—", "trailing-text", "'—'"),
    ("JGSW05001一2018", "trailing-text", "'一2018'"),  # CJK "one", not a dash
]


@pytest.mark.parametrize("text,reason,part", ERRORS, ids=[f"{r}:{t!r}" for t, r, _ in ERRORS])
def test_refused_spellings_give_precise_reason(text, reason, part):
    with pytest.raises(NumberError) as info:
        parse(text)
    err = info.value
    assert err.reason == reason
    assert err.text == text
    assert part in err.message
    assert str(err) == err.message


@pytest.mark.parametrize("text,reason,part", ERRORS, ids=[f"{r}:{t!r}" for t, r, _ in ERRORS])
def test_messages_are_english_then_chinese_gloss(text, reason, part):
    with pytest.raises(NumberError) as info:
        parse(text)
    message = info.value.message
    assert message.endswith(")")
    gloss = message[message.rindex("(") + 1:-1]
    assert any("\u4e00" <= c <= "\u9fff" for c in gloss)
    english = message[:message.rindex("(")]
    assert english[0].isascii() and english.strip()


def test_unknown_category_message_is_as_documented():
    with pytest.raises(NumberError) as info:
        parse("JGSW07001")
    assert info.value.message == (
        "unknown category '07' in 'JGSW07001': categories are 01 to 06 (职能行业分类代号只有 01–06)")


def test_short_body_message_counts_digits():
    with pytest.raises(NumberError) as info:
        parse("JGSW0501-2018")
    assert "4 digits" in info.value.message
    assert "2 digits" in info.value.message


def test_non_text_is_malformed():
    with pytest.raises(NumberError) as info:
        parse(5001)  # type: ignore[arg-type]
    assert info.value.reason == "malformed"


def test_number_error_is_a_value_error_and_pickles():
    with pytest.raises(ValueError):
        parse("JGSW07001")
    err = NumberError("x", "prefix", "msg (中文)")
    copy = pickle.loads(pickle.dumps(err))
    assert (copy.text, copy.reason, copy.message) == ("x", "prefix", "msg (中文)")


def test_number_error_refuses_unknown_reason():
    with pytest.raises(ValueError):
        NumberError("x", "no-such-reason", "msg")


# --- parse_code / parse_edition ---------------------------------------------------


@pytest.mark.parametrize("text", ["JGSW05001", "jgsw 05001", "YNJGSW05001"])
def test_parse_code_accepts_a_standard(text):
    assert parse_code(text) == StandardCode("05", "001")


@pytest.mark.parametrize("text", ["JGSW05001—2018", "JGSW05001-2018", "JGSW050012018"])
def test_parse_code_refuses_a_year(text):
    with pytest.raises(NumberError) as info:
        parse_code(text)
    assert info.value.reason == "year-not-allowed"
    assert "'2018'" in info.value.message
    assert "'JGSW05001'" in info.value.message


@pytest.mark.parametrize("text", ["JGSW05001—2018", "jgsw05001-2018", "JGSW050012018"])
def test_parse_edition_accepts_an_edition(text):
    assert parse_edition(text) == EditionNumber(StandardCode("05", "001"), 2018)


@pytest.mark.parametrize("text", ["JGSW05001", "jgsw05001"])
def test_parse_edition_requires_a_year(text):
    with pytest.raises(NumberError) as info:
        parse_edition(text)
    assert info.value.reason == "year-required"
    assert f"'{text}'" in info.value.message


def test_parse_code_and_edition_still_report_the_underlying_error():
    with pytest.raises(NumberError) as info:
        parse_code("JGSW07001")
    assert info.value.reason == "unknown-category"
    with pytest.raises(NumberError) as info:
        parse_edition("JGSW05001-18")
    assert info.value.reason == "two-digit-year"


# --- value objects --------------------------------------------------------------------


def test_constants():
    assert PREFIX == "JGSW"
    assert DASH == "\u2014"


def test_standard_code_and_edition():
    code = StandardCode("05", "001")
    assert str(code) == "JGSW05001"
    edition = code.edition(2018)
    assert str(edition) == "JGSW05001—2018"
    assert edition.code is code and edition.year == 2018
    assert hash(edition) == hash(parse("jgsw05001-2018"))


def test_ordering():
    numbers = [parse(t) for t in ("JGSW05001—2021", "JGSW01002—2018", "JGSW05001—2018")]
    assert [str(n) for n in sorted(numbers)] == [
        "JGSW01002—2018", "JGSW05001—2018", "JGSW05001—2021"]
    assert StandardCode("01", "999") < StandardCode("05", "000")


def test_value_objects_are_frozen():
    code = StandardCode("05", "001")
    with pytest.raises(AttributeError):
        code.category = "06"  # type: ignore[misc]


@pytest.mark.parametrize("category,sub_item,reason", [
    ("07", "001", "unknown-category"),
    ("5", "001", "category-digits"),
    ("05", "1", "sub-item-digits"),
    ("05", 1, "sub-item-digits"),
])
def test_standard_code_validates_canonical_parts(category, sub_item, reason):
    with pytest.raises(NumberError) as info:
        StandardCode(category, sub_item)
    assert info.value.reason == reason


@pytest.mark.parametrize("year,reason", [
    (1948, "year-range"), (2101, "year-range"), (18, "year-range"),
    ("2018", "year-digits"), (True, "year-digits"),
])
def test_edition_validates_year(year, reason):
    with pytest.raises(NumberError) as info:
        StandardCode("05", "001").edition(year)
    assert info.value.reason == reason


# --- categories ---------------------------------------------------------------------------


def test_categories_table():
    assert list(CATEGORIES) == ["01", "02", "03", "04", "05", "06"]
    assert {code: c.name for code, c in CATEGORIES.items()} == {
        "01": "基础通用标准",
        "02": "机关经费管理标准",
        "03": "资产管理标准",
        "04": "公共机构节约能源资源标准",
        "05": "后勤服务标准",
        "06": "其他管理标准",
    }
    assert CATEGORIES["05"] == Category("05", "后勤服务标准", "logistics services")
    assert all(code == c.code and c.name_en for code, c in CATEGORIES.items())


@pytest.mark.parametrize("text", ["5", "05", "０５", " 05 ", 5])
def test_parse_category_accepts(text):
    assert parse_category(text) is CATEGORIES["05"]


@pytest.mark.parametrize("text,reason,part", [
    ("7", "unknown-category", "'07'"),
    ("07", "unknown-category", "'07'"),
    ("00", "unknown-category", "'00'"),
    ("0", "unknown-category", "'00'"),
    ("99", "unknown-category", "'99'"),
    ("005", "category-digits", "'005'"),
    ("x", "category-digits", "'x'"),
    ("5a", "category-digits", "'5a'"),
    ("", "empty", "''"),
])
def test_parse_category_refuses(text, reason, part):
    with pytest.raises(NumberError) as info:
        parse_category(text)
    assert info.value.reason == reason
    assert part in info.value.message


# --- sub-items -------------------------------------------------------------------------------


@pytest.mark.parametrize("given,expected", [
    ("1", "001"), ("01", "001"), ("001", "001"), (1, "001"), (0, "000"), ("000", "000"),
    ("999", "999"), (999, "999"), ("１２", "012"), (" 42 ", "042"),
])
def test_parse_sub_item_accepts(given, expected):
    assert parse_sub_item(given) == expected


@pytest.mark.parametrize("given,reason", [
    ("1000", "sub-item-range"), (1000, "sub-item-range"), (-1, "sub-item-range"),
    ("0001", "sub-item-digits"), ("a1", "sub-item-digits"), ("-1", "sub-item-digits"),
    ("1.5", "sub-item-digits"), ("", "empty"), (True, "malformed"), (1.0, "malformed"),
])
def test_parse_sub_item_refuses(given, reason):
    with pytest.raises(NumberError) as info:
        parse_sub_item(given)
    assert info.value.reason == reason


def test_make_code():
    assert make_code("05", "001") == StandardCode("05", "001")
    assert make_code("5", 1) == StandardCode("05", "001")
    assert str(make_code("01", 0)) == "JGSW01000"
    with pytest.raises(NumberError) as info:
        make_code("07", 1)
    assert info.value.reason == "unknown-category"
    with pytest.raises(NumberError) as info:
        make_code("05", 1000)
    assert info.value.reason == "sub-item-range"


@pytest.mark.parametrize("used,expected", [
    ([], "001"),                            # nothing used yet
    (["000"], "001"),                       # the category standard does not count
    (["000", "001", "002", "003", "004"], "005"),  # the 2018 logistics allocation
    (["001", "005"], "006"),                # gaps are not refilled: 顺延编号
    (["005", "001", "003"], "006"),         # order does not matter
    (["1", 7], "008"),                      # any accepted spelling
    (iter(["001", "002"]), "003"),          # any iterable
    (["998"], "999"),
    (["999"], "001"),                       # nothing above 999: the lowest unused from 001
    (["000", "001", "999"], "002"),         # a mistyped 999 costs one number, not the category
    (["001", "002", "500", "999"], "003"),
    ([f"{n:03d}" for n in range(1, 999)], "999"),  # 999 itself is the last one left
])
def test_next_sub_item(used, expected):
    assert next_sub_item(used) == expected


@pytest.mark.parametrize("used", [[f"{n:03d}" for n in range(1, 1000)],
                                  [f"{n:03d}" for n in range(1000)]])
def test_next_sub_item_exhausted(used):
    with pytest.raises(NumberError) as info:
        next_sub_item(used)
    assert info.value.reason == "sub-item-range"
    assert "'001'" in info.value.message and "'999'" in info.value.message


def test_module_has_a_docstring_citing_the_rule():
    assert "JGSW01001 §4" in (numbering.__doc__ or "")
