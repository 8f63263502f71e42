"""Normative references (规范性引用文件, JGSW01003 §2): what a standard cites.

A dated reference means that edition only; an undated one means the latest
edition, all amendment sheets included. Three kinds, told apart by how the
text starts:

- internal: a JGSW number in any spelling the numbering rules accept,
  `JGSW01001—2018` (dated) or `JGSW01001` (undated); kept in canonical form;
- external: a national, local or international standard, `GB/T 19001—2016`,
  `GB 2894`, `DB53/T 1008—2021`, `ISO 9001:2015`, `IEC 60204-1`; kept as written;
- planned: any other text, the title of a standard planned but not yet
  numbered (JGSW01003 §2 cites three such by title); kept as written and
  listed as unresolved until an amendment or revision gives it a number.

Text that starts like a number (JGSW, GB, GB/T, DB, ISO, IEC) but does not
parse is malformed. This module is the one place that knows these rules.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from lifecycle import numbering
from lifecycle.errors import InvalidInput

MAX_REFERENCES = 200
FIELD = "references"

_LOOKS_LIKE_A_NUMBER = re.compile(r"^\s*(?:YN\s*)?JGSW|^\s*(?:GB|DB|ISO|IEC)(?![A-Z])", re.IGNORECASE)
_JGSW = re.compile(r"^\s*(?:YN\s*)?JGSW", re.IGNORECASE)
_DASH = r"\s*[-\u2010-\u2015\u2212\uff0d]+\s*"
_EXTERNAL = (
    # GB, GB/T, GB/Z: GB/T 19001—2016
    re.compile(rf"^(?P<family>GB(?:\s*/\s*[TZ])?)\s*(?P<number>\d+(?:\.\d+)*)(?:{_DASH}(?P<year>\d{{4}}))?$",
               re.IGNORECASE),
    # DB: local standards, DB53/T 1008—2021
    re.compile(rf"^(?P<family>DB\s*\d{{2}}(?:\s*/\s*T)?)\s*(?P<number>\d+(?:\.\d+)*)"
               rf"(?:{_DASH}(?P<year>\d{{4}}))?$", re.IGNORECASE),
    # ISO, IEC, ISO/IEC: ISO 9001:2015, IEC 60204-1:2016
    re.compile(r"^(?P<family>ISO(?:\s*/\s*IEC)?|IEC)\s+(?P<number>\d+(?:-\d+)*)(?::(?P<year>\d{4}))?$",
               re.IGNORECASE),
)


@dataclass(frozen=True)
class Reference:
    text: str                # as kept: canonical for internal ones, as written otherwise
    kind: str                # internal | external | planned
    dated: bool
    code: str | None = None  # internal: the standard cited (JGSW01001)
    year: int | None = None  # internal and dated: the edition cited

    @property
    def internal(self) -> bool:
        return self.kind == "internal"

    @property
    def identity(self) -> str:
        """What counts as the same standard: dated and undated alike."""
        if self.code is not None:
            return self.code
        if self.kind == "external":
            m = _external_match(self.text)
            assert m is not None
            family = re.sub(r"\s+", "", m["family"]).upper()
            return f"{family} {m['number']}"
        return self.text


def _external_match(text: str) -> re.Match[str] | None:
    norm = unicodedata.normalize("NFKC", text).strip()
    return next((m for pattern in _EXTERNAL if (m := pattern.match(norm))), None)


def parse(text: str) -> Reference:
    """One reference as written; InvalidInput naming it if it is malformed."""
    written = text.strip()
    norm = unicodedata.normalize("NFKC", written)
    if _JGSW.match(norm):
        try:
            number = numbering.parse(written)
        except numbering.NumberError as e:
            raise InvalidInput(FIELD, f"{written!r} is not a standard number: {e.message}") from None
        if isinstance(number, numbering.EditionNumber):
            return Reference(str(number), "internal", True, str(number.code), number.year)
        return Reference(str(number), "internal", False, str(number))
    if _LOOKS_LIKE_A_NUMBER.match(norm):
        m = _external_match(written)
        if m is None:
            raise InvalidInput(FIELD, f"{written!r} starts like a standard number but is not one: write "
                                      "e.g. 'GB/T 19001—2016', 'DB53/T 1008', 'ISO 9001:2015'")
        return Reference(written, "external", m["year"] is not None)
    return Reference(written, "planned", False)


def parse_list(texts: Iterable[str], own_code: str | None) -> list[Reference]:
    """A draft's list, checked as a whole: at most 200 entries, no standard
    cited twice (dated and undated count as the same), never itself."""
    refs = [parse(t) for t in texts]
    if len(refs) > MAX_REFERENCES:
        raise InvalidInput(FIELD, f"{len(refs)} references: at most {MAX_REFERENCES}")
    seen: dict[str, str] = {}
    for ref in refs:
        if own_code is not None and ref.code == own_code:
            raise InvalidInput(FIELD, f"{ref.text!r}: a standard does not cite itself")
        if ref.identity in seen:
            raise InvalidInput(FIELD, f"{ref.text!r} cites the same standard as {seen[ref.identity]!r}")
        seen[ref.identity] = ref.text
    return refs
