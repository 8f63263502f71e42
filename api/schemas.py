"""marshmallow schemas: they validate every body and query, and the OpenAPI
document is generated from them."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from typing import Any

import marshmallow as ma
from marshmallow import validate

from lifecycle import numbering
from lifecycle.domain import LEVELS
from lifecycle.status import EDITION_STATUSES, STANDARD_STATUSES
from lifecycle.vocabulary import ReviewOutcome


def _is_cjk_compatibility(ch: str) -> bool:
    return "\uf900" <= ch <= "\ufaff" or "\U0002f800" <= ch <= "\U0002fa1f"


def normalise(text: str) -> str:
    """NFC, except CJK compatibility ideographs, which NFC would replace by
    their unified twins: Chinese must come back exactly as it was sent."""
    if not any(_is_cjk_compatibility(ch) for ch in text):
        return unicodedata.normalize("NFC", text)
    parts: list[str] = []
    run: list[str] = []
    for ch in text:
        if _is_cjk_compatibility(ch):
            parts.append(unicodedata.normalize("NFC", "".join(run)) + ch)
            run = []
        else:
            run.append(ch)
    parts.append(unicodedata.normalize("NFC", "".join(run)))
    return "".join(parts)


# The OpenAPI patterns of text fields (what the checks below refuse): no
# control characters; a one-line field also no line or paragraph separators.
ONE_LINE = r"^[^\u0000-\u001f\u007f-\u009f\u2028\u2029]*$"
MULTI_LINE = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$"


class Text(ma.fields.String):
    """Text as people type it: NFC-normalised, trimmed, not empty, no control
    characters. A one-line field (titles, names, reasons) refuses line breaks
    and tabs too; a `multiline` one (summary) keeps them, with \\r\\n and \\r
    turned into \\n."""

    def __init__(self, *, max_length: int, multiline: bool = False, **kwargs: Any) -> None:
        self.multiline = multiline
        metadata = {"pattern": MULTI_LINE if multiline else ONE_LINE, **kwargs.pop("metadata", {})}
        super().__init__(validate=validate.Length(min=1, max=max_length), metadata=metadata,
                         **kwargs)

    def _refused(self, ch: str) -> bool:
        kind = unicodedata.category(ch)
        if self.multiline:
            return kind == "Cc" and ch not in "\n\t"
        return kind in ("Cc", "Zl", "Zp")

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if any(unicodedata.category(ch) == "Cs" for ch in text):
            raise ma.ValidationError("must be valid Unicode (a lone surrogate is not)")
        text = normalise(text)
        if self.multiline:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        bad = next((ch for ch in text if self._refused(ch)), None)
        if bad is not None:
            allowed = "; line breaks and tabs are allowed" if self.multiline else \
                " (one line: no line breaks or tabs)"
            raise ma.ValidationError(f"must not contain control characters: U+{ord(bad):04X}"
                                     f"{allowed}")
        text = text.strip()
        if not text:
            raise ma.ValidationError("must not be empty")
        return text


class Strict(ma.Schema):
    class Meta:
        unknown = ma.RAISE


# Length limits of the fields that are not Text (their own rules parse them).
SHORT = 10         # a category or sub-item in any accepted spelling
NUMBER_TEXT = 50   # a standard number in any accepted spelling
CATEGORY = r"^0?[1-6]$"
SUB_ITEM = r"^[0-9]{1,3}$"

# Positions are 64-bit integers in both stores; `after` + 1 must still be one.
MAX_POSITION = 2**63 - 2

REASON: dict[str, Any] = {"max_length": 500, "metadata": {"description": "why; kept on the event"}}


class DraftFields(Strict):
    title = Text(max_length=200)
    level = ma.fields.String(validate=validate.OneOf(LEVELS))
    kind = Text(max_length=50, metadata={"description": "技术标准, 管理标准, 工作标准, 工作指南 …"})
    owner_department = Text(max_length=100, metadata={"description": "归口 department"})
    drafting_units = ma.fields.List(Text(max_length=100), validate=validate.Length(max=20))
    summary = Text(max_length=4000, multiline=True)
    reason = Text(**REASON)


def by_numbering_rule(parse: Callable[[str], object]) -> Callable[[str], None]:
    """A validator from one of lifecycle.numbering's parsers: its message says what is wrong."""
    def check(value: str) -> None:
        try:
            parse(value)
        except numbering.NumberError as e:
            raise ma.ValidationError(e.message) from None
    return check


class DraftCreate(DraftFields):
    category = ma.fields.String(required=True, validate=[
        validate.Length(max=SHORT), by_numbering_rule(numbering.parse_category)], metadata={
        "description": "01 to 06 (5, full-width ０５ also accepted)", "pattern": CATEGORY})
    sub_item = ma.fields.String(validate=[validate.Length(max=SHORT),
                                          by_numbering_rule(numbering.parse_sub_item)],
                                metadata={"description": "3 digits; default the next free one",
                                          "pattern": SUB_ITEM})
    title = Text(max_length=200, required=True)


class DraftEdit(DraftFields):
    @ma.validates_schema
    def _something(self, data: dict[str, Any], **_: Any) -> None:
        if not set(data) - {"reason"}:
            raise ma.ValidationError("give at least one field to change", "_schema")

    @ma.post_load
    def _as_changes(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        """The fields of the EditDraft command: what changes, and why."""
        reason = data.pop("reason", None)
        return {"changes": data, "reason": reason}


class Reason(Strict):
    reason = Text(**REASON)


class ReasonRequired(Strict):
    reason = Text(required=True, **REASON)


class Approve(Strict):
    approved_on = ma.fields.Date(metadata={"description": "default today; not in the future"})
    reason = Text(**REASON)


class Publish(Strict):
    issued_on = ma.fields.Date(required=True)
    effective_on = ma.fields.Date(required=True)
    trial = ma.fields.Boolean(load_default=False, metadata={"description": "true for 试行"})
    reason = Text(**REASON)


class Revision(Strict):
    reason = Text(required=True, **REASON)
    title = Text(max_length=200)


class Withdraw(Strict):
    withdrawn_on = ma.fields.Date(required=True)
    reason = Text(required=True, **REASON)


class Review(Strict):
    reviewed_on = ma.fields.Date(required=True)
    outcome = ma.fields.Enum(ReviewOutcome, by_value=True, required=True)
    reason = Text(**REASON)


class NoQuery(Strict):
    """The query of a route that takes none: any parameter is refused (422)."""


class AwareDateTime(ma.fields.AwareDateTime):
    default_error_messages = {  # noqa: RUF012 - marshmallow merges this class attribute
        **ma.fields.AwareDateTime.default_error_messages,
        "invalid_awareness": "must be an RFC 3339 time with its offset, e.g. 2024-01-01T00:00:00Z",
    }


class Clocks(Strict):
    as_of = ma.fields.Date(metadata={"description": "valid time: what was in force on this day "
                                                   "(default today in LIFECYCLE_TIMEZONE)"})
    known_at = AwareDateTime(metadata={"description": "record time (RFC 3339): what the register "
                                                      "said at this moment (default now)"})


class CatalogueQuery(Clocks):
    category = ma.fields.String(validate=[validate.Length(max=SHORT),
                                          by_numbering_rule(numbering.parse_category)],
                                metadata={"pattern": CATEGORY})
    status = ma.fields.String(validate=validate.OneOf(STANDARD_STATUSES))
    level = ma.fields.String(validate=validate.OneOf(LEVELS))
    q = Text(max_length=100, metadata={"description": "text in a title, or in the files of the edition "
                                                      "in force (Chinese as substrings, from one "
                                                      "character); rows found in text say so"})
    after = ma.fields.String(validate=[validate.Length(max=NUMBER_TEXT),
                                       by_numbering_rule(numbering.parse_code)],
                             metadata={"description": "cursor: the last code of the previous page"})
    limit = ma.fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


class FileReason(Strict):
    """The query of a file command: its body is the file itself."""

    reason = Text(**REASON)


# ------------------------------------------------------------------ output
class FileOut(ma.Schema):
    name = ma.fields.String(metadata={"example": "标准正文.pdf"})
    media_type = ma.fields.String(metadata={"example": "application/pdf"})
    size = ma.fields.Integer(metadata={"description": "bytes"})
    sha256 = ma.fields.String(metadata={"description": "SHA-256 of the bytes, hex; the download's ETag"})


class TextOut(ma.Schema):
    status = ma.fields.String(validate=validate.OneOf(("extracted", "truncated", "empty", "none", "failed")),
                              metadata={"description": "extracted; truncated (a limit stopped it); empty "
                                                       "(no text layer); none (not a text format); failed "
                                                       "(`detail` says why; the file is stored all the "
                                                       "same)"})
    characters = ma.fields.Integer()
    detail = ma.fields.String(allow_none=True)


class FileWithText(FileOut):
    text = ma.fields.Nested(TextOut)


class EditionOut(ma.Schema):
    number = ma.fields.String(metadata={"example": "JGSW05001—2018"})
    year = ma.fields.Integer()
    title = ma.fields.String()
    status = ma.fields.String(validate=validate.OneOf(EDITION_STATUSES))
    status_label = ma.fields.String()
    level = ma.fields.String(allow_none=True)
    kind = ma.fields.String(allow_none=True)
    owner_department = ma.fields.String(allow_none=True)
    drafting_units = ma.fields.List(ma.fields.String())
    summary = ma.fields.String(allow_none=True)
    approved_on = ma.fields.String(allow_none=True)
    approved_by = ma.fields.String(allow_none=True)
    drafted_by = ma.fields.String(allow_none=True)
    issued_on = ma.fields.String(allow_none=True)
    issued_by = ma.fields.String(allow_none=True)
    effective_on = ma.fields.String(allow_none=True)
    trial = ma.fields.Boolean()
    superseded_on = ma.fields.String(allow_none=True)
    withdrawn_on = ma.fields.String(allow_none=True)
    withdrawal_reason = ma.fields.String(allow_none=True)
    replaces = ma.fields.String(allow_none=True)
    replaced_by = ma.fields.String(allow_none=True)
    files = ma.fields.List(ma.fields.Nested(FileOut), metadata={"description": "bound by the approval"})


class DraftOut(ma.Schema):
    stage = ma.fields.String()
    stage_label = ma.fields.String()
    title = ma.fields.String()
    level = ma.fields.String()
    kind = ma.fields.String(allow_none=True)
    owner_department = ma.fields.String(allow_none=True)
    drafting_units = ma.fields.List(ma.fields.String())
    summary = ma.fields.String(allow_none=True)
    drafted_by = ma.fields.String()
    edited_by = ma.fields.List(ma.fields.String())
    revision_of = ma.fields.String(allow_none=True)
    comments = ma.fields.List(ma.fields.String())
    files = ma.fields.List(ma.fields.Nested(FileOut))


class StandardOut(ma.Schema):
    code = ma.fields.String(metadata={"example": "JGSW05001"})
    category = ma.fields.String()
    sub_item = ma.fields.String()
    level = ma.fields.String()
    level_label = ma.fields.String(allow_none=True)
    title = ma.fields.String()
    status = ma.fields.String(validate=validate.OneOf(STANDARD_STATUSES))
    status_label = ma.fields.String()
    edition = ma.fields.Nested(EditionOut, allow_none=True)
    draft = ma.fields.Nested(DraftOut, allow_none=True)
    version = ma.fields.Integer()
    stage = ma.fields.String()
    editions = ma.fields.List(ma.fields.Dict())
    reviews = ma.fields.List(ma.fields.Dict())
    matched_in = ma.fields.String(validate=validate.OneOf(("title", "text")),
                                  metadata={"description": "with `q`: where the row was found"})
    matched_file = ma.fields.String(metadata={"description": "with `q`, found in text: the file holding it"})
    snippet = ma.fields.String(metadata={"description": "with `q`, found in text: the text around it"})


class Page(ma.Schema):
    next = ma.fields.String(allow_none=True)


class StandardPage(Page):
    items = ma.fields.List(ma.fields.Nested(StandardOut))


class EditionPage(Page):
    items = ma.fields.List(ma.fields.Nested(EditionOut))


class CategoryOut(ma.Schema):
    code = ma.fields.String()
    name = ma.fields.String()
    name_en = ma.fields.String()
    standards = ma.fields.Integer()
    by_status = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer())
    next_sub_item = ma.fields.String(allow_none=True)
    next_code = ma.fields.String(allow_none=True)


class CategoryPage(Page):
    items = ma.fields.List(ma.fields.Nested(CategoryOut))


class NumberOut(ma.Schema):
    input = ma.fields.String()
    canonical = ma.fields.String()
    code = ma.fields.String()
    prefix = ma.fields.String()
    category = ma.fields.String()
    category_name = ma.fields.String()
    sub_item = ma.fields.String()
    year = ma.fields.Integer(allow_none=True)


class EventsQuery(Strict):
    after = ma.fields.Integer(load_default=0, validate=validate.Range(min=0, max=MAX_POSITION),
                              metadata={"description": "the last position of the previous page"})
    limit = ma.fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


class SignatureOut(ma.Schema):
    signer = ma.fields.String()
    signed_at = ma.fields.String()
    meaning = ma.fields.String()
    meaning_label = ma.fields.String()


class EventOut(ma.Schema):
    position = ma.fields.Integer()
    code = ma.fields.String(allow_none=True)
    user = ma.fields.String(allow_none=True)
    type = ma.fields.String(metadata={"example": "standard.approved"})
    actor = ma.fields.String(allow_none=True)
    recorded_at = ma.fields.String(metadata={"description": "RFC 3339, UTC"})
    reason = ma.fields.String(allow_none=True)
    version = ma.fields.Integer()
    data = ma.fields.Dict()
    chain_hash = ma.fields.String(allow_none=True)
    signature = ma.fields.Nested(SignatureOut)


class EventPage(Page):
    items = ma.fields.List(ma.fields.Nested(EventOut))


class HealthOut(ma.Schema):
    status = ma.fields.String()
    store = ma.fields.String()
    position = ma.fields.Integer()
    projections = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer())


class FileAnswer(StandardOut):
    file = ma.fields.Nested(FileWithText, metadata={"description": "the file just attached, and what "
                                                                    "was extracted from it"})


class FilePage(Page):
    items = ma.fields.List(ma.fields.Nested(FileWithText))


class FileChange(ma.Schema):
    name = ma.fields.String()
    old = ma.fields.Nested(FileOut)
    new = ma.fields.Nested(FileOut)


class FileChanges(ma.Schema):
    added = ma.fields.List(ma.fields.Nested(FileOut))
    removed = ma.fields.List(ma.fields.Nested(FileOut))
    changed = ma.fields.List(ma.fields.Nested(FileChange))
    unchanged = ma.fields.List(ma.fields.String())


class CompareOut(ma.Schema):
    from_ = ma.fields.String(data_key="from", metadata={"description": "the older edition (`other`)"})
    to = ma.fields.String(metadata={"description": "the edition compared with it (`year`)"})
    changed_fields = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Dict(), data_key="fields",
                                    metadata={"description": "field -> {old, new}, for each field that "
                                                             "changed"})
    files = ma.fields.Nested(FileChanges)
    diff = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.List(ma.fields.String()),
                          metadata={"description": "file name -> unified diff lines of its text, for each "
                                                   "changed file with text in both editions"})
    truncated = ma.fields.List(ma.fields.String(), metadata={"description": "files whose diff was cut"})
