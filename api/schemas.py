"""marshmallow schemas: they validate every body and query, and the OpenAPI
document is generated from them."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import marshmallow as ma
import regex
from marshmallow import validate

from lifecycle import numbering, reviews
from lifecycle.domain import LEVELS
from lifecycle.status import EDITION_STATUSES, STANDARD_STATUSES
from lifecycle.vocabulary import ReviewOutcome

CJK_COMPATIBILITY = regex.compile("[\uf900-\ufaff\U0002f800-\U0002fa1f]")


def normalise(text: str) -> str:
    """NFC, except CJK compatibility ideographs, which NFC would replace by
    their unified twins: Chinese must come back exactly as it was sent."""
    if CJK_COMPATIBILITY.search(text) is None:
        return unicodedata.normalize("NFC", text)
    parts: list[str] = []
    start = 0
    for found in CJK_COMPATIBILITY.finditer(text):
        parts.append(unicodedata.normalize("NFC", text[start:found.start()]) + found[0])
        start = found.end()
    parts.append(unicodedata.normalize("NFC", text[start:]))
    return "".join(parts)


# The OpenAPI patterns of text fields (what the checks below refuse): no
# control characters and no bidirectional controls; a one-line field also no
# line or paragraph separators.
BIDI = "\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069"
ONE_LINE = rf"^[^\u0000-\u001f\u007f-\u009f\u2028\u2029{BIDI}]*$"
MULTI_LINE = rf"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f{BIDI}]*$"

# Unicode's own classes (the `regex` module knows them; `re` does not).
# Bidi_Control: the embeddings, overrides and isolates (U+202A–U+202E,
# U+2066–U+2069) and the marks LRM, RLM and ALM (U+200E, U+200F, U+061C). They
# make text show in another order than it is stored (CVE-2021-42574), and a
# register in Chinese has no right-to-left text that needs them: all refused.
BIDI_CONTROL = regex.compile(r"\p{Bidi_Control}")
# What Text refuses, found at the regex engine's speed (a field is read on
# every command): a lone surrogate; a control character (a multi-line field
# keeps line breaks and tabs); in a one-line field, line and paragraph separators.
SURROGATE = regex.compile(r"\p{Cs}")
REFUSED_IN_ONE_LINE = regex.compile(r"[\p{Cc}\p{Zl}\p{Zp}]")
REFUSED_IN_MULTI_LINE = regex.compile(r"[^\P{Cc}\n\t]")
# A visible character: not white space, not default-ignorable (zero-width
# spaces and joiners, U+FEFF, Hangul fillers, soft hyphens, variation
# selectors), not a control, format or unassigned code point, not a combining
# mark alone. Private-use characters count: offices use them for rare names.
VISIBLE = regex.compile(r"[^\p{White_Space}\p{Default_Ignorable_Code_Point}\p{Cc}\p{Cf}\p{Cs}"
                        r"\p{Cn}\p{M}]")


class Text(ma.fields.String):
    """Text as people type it: NFC-normalised, trimmed, with at least one
    visible character, no control characters and no bidirectional controls.
    A one-line field (titles, names, reasons) refuses line breaks and tabs
    too; a `multiline` one (summary) keeps them, with \\r\\n and \\r turned
    into \\n."""

    def __init__(self, *, max_length: int, multiline: bool = False, **kwargs: Any) -> None:
        self.multiline = multiline
        metadata = {"pattern": MULTI_LINE if multiline else ONE_LINE, **kwargs.pop("metadata", {})}
        super().__init__(validate=validate.Length(min=1, max=max_length), metadata=metadata,
                         **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if SURROGATE.search(text):
            raise ma.ValidationError("must be valid Unicode (a lone surrogate is not)")
        text = normalise(text)
        if self.multiline:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        found = (REFUSED_IN_MULTI_LINE if self.multiline else REFUSED_IN_ONE_LINE).search(text)
        if found is not None:
            bad = found[0]
            allowed = "; line breaks and tabs are allowed" if self.multiline else \
                " (one line: no line breaks or tabs)"
            raise ma.ValidationError(f"must not contain control characters: U+{ord(bad):04X}"
                                     f"{allowed}")
        bidi = BIDI_CONTROL.search(text)
        if bidi is not None:
            raise ma.ValidationError(f"must not contain bidirectional controls: U+{ord(bidi[0]):04X} "
                                     "(they show text in another order than it is stored)")
        text = text.strip()
        if not text:
            raise ma.ValidationError("must not be empty")
        if not VISIBLE.search(text):
            raise ma.ValidationError("must contain a visible character (zero-width and blank "
                                     "characters alone are not text)")
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
    references = ma.fields.List(Text(max_length=200), metadata={
        "description": "normative references as written: JGSW01001—2018 (dated), JGSW01001 "
                       "(undated), GB/T 19001—2016, ISO 9001:2015, or the title of a standard "
                       "not yet numbered; at most 200",
        "example": ["JGSW01002", "JGSW01001—2018", "GB/T 19001—2016", "资产管理标准 要求"]})
    review_years = ma.fields.Integer(validate=validate.Range(min=1, max=5), metadata={
        "description": "periodic review every N years (1–5); default LIFECYCLE_REVIEW_YEARS"})
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


class Changes(Strict):
    """A body of fields to change (and a reason): at least one field, loaded
    as the command's fields `changes` and `reason`."""

    @ma.validates_schema
    def _something(self, data: dict[str, Any], **_: Any) -> None:
        if not set(data) - {"reason"}:
            raise ma.ValidationError("give at least one field to change", "_schema")

    @ma.post_load
    def _as_changes(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        reason = data.pop("reason", None)
        return {"changes": data, "reason": reason}


class DraftEdit(DraftFields, Changes):
    """The fields of the EditDraft command: what changes, and why."""


class Reason(Strict):
    reason = Text(**REASON)


class ReasonRequired(Strict):
    reason = Text(required=True, **REASON)


class Approve(Strict):
    approved_on = ma.fields.Date(metadata={"description": "default today; not in the future"})
    reason = Text(**REASON)
    emergency = ma.fields.Boolean(load_default=False, metadata={
        "description": "紧急批准 (JGSW01003 §8.5.3): approve a draft never submitted for review; "
                       "`reason` is then required"})
    paperwork_due = ma.fields.Date(metadata={
        "description": "with emergency: when the paperwork is due (default 30 days after approval, "
                       "at most 90)"})

    @ma.validates_schema
    def _paperwork_only_in_an_emergency(self, data: dict[str, Any], **_: Any) -> None:
        if "paperwork_due" in data and not data.get("emergency"):
            raise ma.ValidationError("only an emergency approval has paperwork due", "paperwork_due")


class Publish(Strict):
    issued_on = ma.fields.Date(required=True)
    effective_on = ma.fields.Date(required=True)
    trial = ma.fields.Boolean(load_default=False, metadata={"description": "true for 试行"})
    reason = Text(**REASON)


class Paperwork(Strict):
    completed_on = ma.fields.Date(required=True, metadata={"description": "not in the future"})
    reason = Text(required=True, **REASON)


class AmendmentOpen(Strict):
    summary = Text(max_length=500, required=True, metadata={"example": "更正第3.1条的消毒频次"})
    changes = Text(max_length=20000, multiline=True, required=True, metadata={
        "description": "the amended clauses, as they now read", "example": "3.1 餐具每餐消毒，每日检查。"})
    references = ma.fields.List(Text(max_length=200), metadata={
        "description": "the edition's new reference list, from the amendment's effective day (optional)"})
    reason = Text(**REASON)


class AmendmentApprove(Strict):
    approved_on = ma.fields.Date(metadata={"description": "default today; not in the future"})
    effective_on = ma.fields.Date(metadata={"description": "default the approval day; not before it"})
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
    """An RFC 3339 time with its offset, in UTC: record times are kept in UTC."""

    default_error_messages = {  # noqa: RUF012 - marshmallow merges this class attribute
        **ma.fields.AwareDateTime.default_error_messages,
        "invalid_awareness": "must be an RFC 3339 time with its offset, e.g. 2024-01-01T00:00:00Z",
        "out_of_range": "must be a time that exists in UTC (from 0001-01-01T00:00:00Z to "
                        "9999-12-31T23:59:59Z); {input} is not",
    }

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        moment = super()._deserialize(value, attr, data, **kwargs)
        try:
            return moment.astimezone(UTC)
        except OverflowError:
            raise self.make_error("out_of_range", input=value) from None


# The days `as_of` may name: the years of the numbering rules, one place.
REGISTER_DAYS = validate.Range(
    min=numbering.FIRST_DAY, max=numbering.LAST_DAY,
    error="must be a day from {min} to {max}: the years the numbering rules accept")


class Clocks(Strict):
    as_of = ma.fields.Date(validate=REGISTER_DAYS,
                           metadata={"description": "valid time: what was in force on this day "
                                                    f"({numbering.FIRST_DAY} to {numbering.LAST_DAY}; "
                                                    "default today in LIFECYCLE_TIMEZONE)"})
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


class CatalogueSheetQuery(CatalogueQuery):
    """The catalogue's filters and clocks, for a spreadsheet of every row they select."""

    class Meta:
        exclude = ("after", "limit")


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
class AmendmentOut(ma.Schema):
    n = ma.fields.Integer(metadata={"example": 1})
    number = ma.fields.String(allow_none=True, metadata={
        "description": "null until approved", "example": "JGSW05001—2018/XG1—2026"})
    summary = ma.fields.String()
    changes = ma.fields.String()
    references = ma.fields.List(ma.fields.String(), allow_none=True, metadata={
        "description": "the edition's reference list from this amendment's effective day, if it changes it"})
    approved_on = ma.fields.String(allow_none=True)
    effective_on = ma.fields.String(allow_none=True)
    status = ma.fields.String(validate=validate.OneOf(["draft", "approved", "in_force", "dropped"]))
    status_label = ma.fields.String()
    drafted_by = ma.fields.String()
    approved_by = ma.fields.String(allow_none=True)


class EditionHeading(ma.Schema):
    """What names an edition and says its status: the start of every edition's view."""

    number = ma.fields.String(metadata={"example": "JGSW05001—2018"})
    year = ma.fields.Integer()
    title = ma.fields.String()
    status = ma.fields.String(validate=validate.OneOf(EDITION_STATUSES))
    status_label = ma.fields.String()


class EditionOut(EditionHeading):
    level = ma.fields.String(allow_none=True)
    kind = ma.fields.String(allow_none=True)
    owner_department = ma.fields.String(allow_none=True)
    drafting_units = ma.fields.List(ma.fields.String())
    summary = ma.fields.String(allow_none=True)
    references = ma.fields.List(ma.fields.String(),
                                metadata={"description": "normative references, fixed at approval"})
    review_years = ma.fields.Integer(allow_none=True)
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
    replaces = ma.fields.String(allow_none=True, metadata={
        "description": "the edition this one replaced, from the day this one took effect"})
    replaced_by = ma.fields.String(allow_none=True, metadata={
        "description": "the edition that replaced this one, from the day it took effect"})
    will_replace = ma.fields.String(allow_none=True, metadata={
        "description": "issued, not yet in force: the edition it is to replace on its effective day"})
    will_be_replaced_by = ma.fields.String(allow_none=True, metadata={
        "description": "the issued edition that is to replace this one on its effective day"})
    amendments = ma.fields.List(ma.fields.Nested(AmendmentOut), metadata={
        "description": "amendment sheets (修改单) as of the day: in force from their effective day"})
    emergency = ma.fields.Boolean(metadata={"description": "approved in an emergency (紧急批准)"})
    paperwork_due = ma.fields.String(allow_none=True)
    paperwork_completed_on = ma.fields.String(allow_none=True)
    paperwork_completed_by = ma.fields.String(allow_none=True)
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
    references = ma.fields.List(ma.fields.String())
    review_years = ma.fields.Integer(allow_none=True)
    drafted_by = ma.fields.String()
    edited_by = ma.fields.List(ma.fields.String())
    revision_of = ma.fields.String(allow_none=True)
    comments = ma.fields.List(ma.fields.String())
    files = ma.fields.List(ma.fields.Nested(FileOut))


class EditionBrief(EditionHeading):
    """An edition in a standard's list of editions (its full view: /editions/{year})."""

    issued_on = ma.fields.String(allow_none=True)
    effective_on = ma.fields.String(allow_none=True)
    trial = ma.fields.Boolean()
    withdrawn_on = ma.fields.String(allow_none=True)
    replaces = ma.fields.String(allow_none=True)
    replaced_by = ma.fields.String(allow_none=True)
    will_replace = ma.fields.String(allow_none=True)
    will_be_replaced_by = ma.fields.String(allow_none=True)


class ReviewOut(ma.Schema):
    """A periodic review (复审) recorded on a standard."""

    reviewed_on = ma.fields.String()
    outcome = ma.fields.String(validate=validate.OneOf([o.value for o in ReviewOutcome]))
    by = ma.fields.String()
    reason = ma.fields.String(allow_none=True)


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
    amendments_in_force = ma.fields.Integer(metadata={
        "description": "how many amendment sheets of the edition shown are in force on the day"})
    withdrawal_scheduled_on = ma.fields.String(allow_none=True, metadata={
        "description": "a withdrawal recorded for a day still to come (before it, it can be "
                       "corrected by withdrawing again or cancelled)"})
    editions = ma.fields.List(ma.fields.Nested(EditionBrief))
    reviews = ma.fields.List(ma.fields.Nested(ReviewOut))
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


class DueQuery(Clocks):
    within = ma.fields.Integer(load_default=reviews.DEFAULT_WITHIN, validate=validate.Range(min=0, max=3650),
                               metadata={"description": "also what falls due this many days after as_of"})
    limit = ma.fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    after = ma.fields.String(validate=validate.Regexp(r"^\d{4}-\d{2}-\d{2}\.JGSW\d{5}$"), metadata={
        "description": "cursor: `due_on.code` of the last item of the previous page"})


class ReferenceOut(ma.Schema):
    reference = ma.fields.String(metadata={"example": "JGSW01001"})
    kind = ma.fields.String(validate=validate.OneOf(["internal", "external", "planned"]))
    internal = ma.fields.Boolean()
    dated = ma.fields.Boolean()
    unresolved = ma.fields.Boolean(metadata={"description": "a planned standard, cited by title"})
    resolves_to = ma.fields.String(allow_none=True, metadata={"example": "JGSW01001—2018"})
    status = ma.fields.String(allow_none=True)
    status_label = ma.fields.String(allow_none=True)
    warning = ma.fields.String(allow_none=True)
    amendments = ma.fields.List(ma.fields.String(), metadata={
        "description": "an undated reference: the amendment sheets in force on the day"})


class ReferencePage(Page):
    items = ma.fields.List(ma.fields.Nested(ReferenceOut))
    as_of = ma.fields.String()
    known_at = ma.fields.String(allow_none=True)


class CitingOut(ma.Schema):
    number = ma.fields.String(metadata={"example": "JGSW01003—2018"})
    code = ma.fields.String()
    reference = ma.fields.String(metadata={"description": "as the citing edition writes it"})
    dated = ma.fields.Boolean()


class CitingPage(ReferencePage):
    items = ma.fields.List(ma.fields.Nested(CitingOut))


class DueDetailOut(ma.Schema):
    reason = ma.fields.String(validate=validate.OneOf(["interval", "reference_changed", "paperwork"]))
    due_on = ma.fields.String()
    about = ma.fields.String(allow_none=True)


class DueOut(ma.Schema):
    code = ma.fields.String()
    edition = ma.fields.String(metadata={"example": "JGSW01003—2018"})
    due_on = ma.fields.String()
    overdue_days = ma.fields.Integer(metadata={"description": "days past due; negative: days left"})
    reasons = ma.fields.List(ma.fields.String())
    details = ma.fields.List(ma.fields.Nested(DueDetailOut))


class DuePage(ReferencePage):
    items = ma.fields.List(ma.fields.Nested(DueOut))
    within = ma.fields.Integer()


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
    subscription = ma.fields.String(metadata={"description": "the subscription, for its own events"})
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
    version = ma.fields.String(metadata={"description": "the service's version (its package's)"})
    schema = ma.fields.Integer(metadata={"description": "the event schema's version: the highest "
                                                        "class_version of the events recorded"})
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


class FieldChange(ma.Schema):
    old = ma.fields.Raw(allow_none=True, metadata={"description": "the value in `other`"})
    new = ma.fields.Raw(allow_none=True, metadata={"description": "the value in `year`"})


class CompareOut(ma.Schema):
    from_ = ma.fields.String(data_key="from", metadata={"description": "the older edition (`other`)"})
    to = ma.fields.String(metadata={"description": "the edition compared with it (`year`)"})
    changed_fields = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Nested(FieldChange),
                                    data_key="fields",
                                    metadata={"description": "field -> {old, new}, for each field that "
                                                             "changed"})
    files = ma.fields.Nested(FileChanges)
    diff = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.List(ma.fields.String()),
                          metadata={"description": "file name -> unified diff lines of its text, for each "
                                                   "changed file with text in both editions"})
    truncated = ma.fields.List(ma.fields.String(), metadata={"description": "files whose diff was cut"})
