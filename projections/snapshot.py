"""The nightly catalogue snapshot: the catalogue as of one day, written as
JSON, CSV and XLSX with a SHA-256 list, and proved later against the event log.

Rendering is a pure function of (as-of day, log position, chain head, rows),
so the same log gives the same bytes. `write` takes the rows from the
projection tables in one read (`Reads.everything_on`); `verify` rebuilds them
by replaying the log up to the recorded position and compares bytes."""

from __future__ import annotations

import contextlib
import csv
import functools
import hashlib
import io
import json
import os
import pickle
import re
import signal
import tempfile
import unicodedata
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import xlsxwriter

from lifecycle import reviews
from projections import citations
from projections.chain import GENESIS
from projections.documents import StandardRows
from projections.memory import reads_at
from projections.signing import SignedHead
from projections.verify import head_at
from projections.views import standard_view

if TYPE_CHECKING:
    from openpyxl.styles import Font

FORMAT = "jgsw-catalogue-snapshot/2"  # /2: editions and drafts list their files (name, size, sha256)
FORMAT_WITHOUT_FILES = "jgsw-catalogue-snapshot/1"  # still verified as written
BOM = "\ufeff"
NAME = re.compile(r"^catalogue-(\d{4}-\d{2}-\d{2})\.(json|csv|xlsx|sha256)$")



@dataclass(frozen=True)
class Column:
    """One column of the catalogue's spreadsheets: its Chinese header, the
    English name beside it in the CSV, and how to read it from a standard's
    client view."""

    zh: str
    en: str
    get: Callable[[dict[str, Any]], Any]

    @property
    def csv_header(self) -> str:
        return f"{self.zh} ({self.en})"


def _edition(name: str) -> Callable[[dict[str, Any]], Any]:
    return lambda v: (v["edition"] or {}).get(name)


def _trial(v: dict[str, Any]) -> str | None:
    return None if v["edition"] is None else ("是" if v["edition"]["trial"] else "否")


NUMBER = Column("编号", "number", lambda v: (v["edition"] or {}).get("number") or v["code"])
CODE = Column("代号", "code", lambda v: v["code"])
TITLE = Column("名称", "title", lambda v: v["title"])
CATEGORY = Column("类别", "category", lambda v: v["category"])
STATUS_LABEL = Column("状态名称", "status_label", lambda v: v["status_label"])
DATES = (Column("发布日期", "issued_on", _edition("issued_on")),
         Column("实施日期", "effective_on", _edition("effective_on")),
         Column("试行", "trial", _trial),
         Column("废止日期", "withdrawn_on", _edition("withdrawn_on")),
         Column("代替", "replaces", _edition("replaces")),
         Column("被代替", "replaced_by", _edition("replaced_by")))

# The CSV keeps its columns: snapshots written before still verify.
CSV_COLUMNS = (NUMBER, CODE, TITLE, CATEGORY, Column("层次", "level", lambda v: v["level"]),
               Column("状态", "status", lambda v: v["status"]), STATUS_LABEL, *DATES)
# The workbook is for people: words rather than the API's names, the sub-item too.
XLSX_COLUMNS = (NUMBER, CODE, CATEGORY, Column("顺序号", "sub_item", lambda v: v["sub_item"]), TITLE,
                Column("层次", "level", lambda v: v["level_label"]),
                Column("状态", "status", lambda v: v["status_label"]), *DATES)
XLSX_HEADER = tuple(column.zh for column in XLSX_COLUMNS)

# OWASP's advice against formula injection (CSV injection): a cell that
# starts with one of these is read as a formula by Excel, WPS or LibreOffice.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> str:
    """A cell's text as every spreadsheet the project writes holds it: empty
    for None, and a leading apostrophe before text a spreadsheet would run."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def cells(view: dict[str, Any], columns: tuple[Column, ...]) -> list[str]:
    return [neutralise(column.get(view)) for column in columns]


def file_name(day: date, kind: str) -> str:
    return f"catalogue-{day.isoformat()}.{kind}"


# --------------------------------------------------------------------- render
def views_of(day: date, rows: list[StandardRows]) -> list[dict[str, Any]]:
    """Each standard as the catalogue shows it on `day`: what every file of a
    snapshot is made of (made once, written three ways)."""
    return [standard_view(r, day, with_editions=False) for r in rows]


def document(day: date, position: int, head: str, views: list[dict[str, Any]],
             signed: SignedHead, due: list[dict[str, Any]], fmt: str = FORMAT) -> dict[str, Any]:
    if fmt == FORMAT_WITHOUT_FILES:
        views = [_without_files(v) for v in views]
    doc = {
        "format": fmt,
        "as_of": day.isoformat(),
        "position": position,
        "chain_head": head,
        # Ed25519 signatures are deterministic: the same head gives the same bytes.
        "signed_head": signed.as_dict(),
        "count": len(views),
        "standards": views,
        # what is due for periodic review on the day or within the usual window
        "reviews_due": {"within": reviews.DEFAULT_WITHIN, "items": due},
    }
    if fmt == FORMAT_WITHOUT_FILES:  # as the version before /2 wrote it
        for key in ("signed_head", "reviews_due"):
            del doc[key]
    return doc


def _without_files(view: dict[str, Any]) -> dict[str, Any]:
    """A standard as format /1 showed it, before editions had files."""
    return {**view, **{part: {k: v for k, v in view[part].items() if k != "files"}
                       for part in ("edition", "draft") if view.get(part) is not None}}


def render_json(day: date, position: int, head: str, views: list[dict[str, Any]],
                signed: SignedHead, due: list[dict[str, Any]], fmt: str = FORMAT) -> bytes:
    """Stable keys, code order, no wall-clock time: the same inputs give the same bytes."""
    body = document(day, position, head, views, signed, due, fmt)
    return indented(body) + b"\n"


def indented(body: Any) -> bytes:
    """`json.dumps(body, ensure_ascii=False, sort_keys=True, indent=1)` in
    UTF-8, byte for byte (snapshots already written are verified against
    these bytes; tests/unit/test_documents_json.py checks it), from orjson,
    three times faster than json on 6,000 standards: its two-space
    indentation halved. JSON text holds no raw line break inside a string, so
    every line break is layout. The halving works on the UTF-8 bytes (no byte
    of a multi-byte character is below 0x80, so none looks like a line break
    or a space): nothing to decode and encode again, a quarter less time."""
    try:
        data = orjson.dumps(body, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
    except TypeError:  # what orjson would not write as json does (int keys, huge ints)
        return json.dumps(body, ensure_ascii=False, sort_keys=True, indent=1).encode("utf-8")
    depth = 0
    while b"\n" + b"  " * (depth + 1) in data:
        depth += 1
    # Deepest first; a line done is marked (\0 never appears raw in JSON) so a
    # shallower pass cannot halve it again.
    for k in range(depth, 0, -1):
        data = data.replace(b"\n" + b"  " * k, b"\n\0" + b" " * k)
    return data.replace(b"\n\0", b"\n")


def render_csv(day: date, views: list[dict[str, Any]]) -> bytes:
    """UTF-8 with a BOM (so Excel and WPS read the Chinese titles), CRLF line ends."""
    out = io.StringIO(newline="")
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow([column.csv_header for column in CSV_COLUMNS])
    for view in views:
        w.writerow(cells(view, CSV_COLUMNS))
    return (BOM + out.getvalue()).encode("utf-8")


def render_xlsx(day: date, views: list[dict[str, Any]]) -> bytes:
    """The catalogue as a workbook: Chinese headers, every value a text cell
    (codes, sub-items and dates keep their zeros and their form; nothing
    starts a formula, see neutralise), the header row frozen, widths that fit.
    No time of day inside, so the same rows give the same bytes. Written by
    XlsxWriter: 6,000 rows in a third of the time openpyxl takes."""
    book = CatalogueBook(day)
    book.add(xlsx_rows(views))
    return book.close()


def xlsx_rows(views: list[dict[str, Any]]) -> list[list[str]]:
    """The workbook's rows (below its header) of these standards."""
    return [cells(view, XLSX_COLUMNS) for view in views]


class CatalogueBook:
    """The catalogue's workbook, given its rows a batch at a time (the
    snapshot sends them while it reads the rest); `close` gives its bytes.
    XlsxWriter keeps every cell until then: widths and the filter's range,
    set last, come out where they would had they been set first."""

    def __init__(self, day: date) -> None:
        self._out = io.BytesIO()
        self._book = xlsxwriter.Workbook(self._out, {
            "in_memory": True, "strings_to_numbers": False, "strings_to_formulas": False,
            "strings_to_urls": False})
        self._book.set_properties({"title": _book_title(day), "author": "jgsw-lifecycle",
                                   "created": datetime.combine(day, time())})
        self._sheet = self._book.add_worksheet("规范目录")
        self._sheet.freeze_panes(1, 0)
        bold = self._book.add_format({"bold": True})
        for index, name in enumerate(XLSX_HEADER):
            self._sheet.write_string(0, index, name, bold)
        self._rows = 0
        self._widths = _widths(XLSX_HEADER, [])

    def add(self, rows: list[list[str]]) -> None:
        write = self._sheet.write_string
        for number, row in enumerate(rows, self._rows + 1):
            for index, text in enumerate(row):
                if text:
                    write(number, index, text)
        self._rows += len(rows)
        # a width is a maximum: the widest of the batches is the widest of all rows
        self._widths = [max(pair) for pair in zip(self._widths, _widths(XLSX_HEADER, rows), strict=True)]

    def close(self) -> bytes:
        for index, width in enumerate(self._widths):
            self._sheet.set_column(index, index, width)
        self._sheet.autofilter(0, 0, self._rows, len(XLSX_HEADER) - 1)
        self._book.close()  # its zip members are dated 1980-01-01: no time of day
        return self._out.getvalue()


def _sheet(views: list[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    return list(XLSX_HEADER), xlsx_rows(views)


def _book_title(day: date) -> str:
    return f"JGSW 规范目录（{day.isoformat()}）"


def _widths(header: Sequence[str], rows: list[list[str]]) -> list[int]:
    """Each column's width: its widest text and two, at most 60. Each distinct
    text is measured once (statuses, dates and labels repeat on every row),
    and a column of ASCII alone (codes, dates) by its lengths."""
    widths = []
    columns = zip(*rows, strict=True) if rows else ([] for _ in header)
    for name, column in zip(header, columns, strict=True):
        texts = set(column)
        texts.add(name)
        if "".join(texts).isascii():
            widest = max(map(len, texts))
        else:
            widest = 0
            for text in texts:
                if widest >= 58:  # the cap is reached: the rest cannot change it
                    break
                widest = max(widest, display_width(text))
        widths.append(min(widest + 2, 60))
    return widths


def render_xlsx_openpyxl(day: date, views: list[dict[str, Any]]) -> bytes:
    """The workbook as snapshots written before XlsxWriter (2026-12-01) hold
    it, byte for byte: `snapshot verify` proves those against it."""
    # openpyxl only proves old workbooks: imported here, it costs `write` nothing.
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter
    from openpyxl.writer.excel import ExcelWriter

    header, rows = _sheet(views)
    book = Workbook(write_only=True)
    sheet = book.create_sheet("规范目录")
    sheet.freeze_panes = "A2"
    for index, width in enumerate(_widths(header, rows)):
        sheet.column_dimensions[get_column_letter(index + 1)].width = width
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(header))}{len(rows) + 1}"
    bold = Font(bold=True)
    sheet.append([text_cell(sheet, name, bold) for name in header])
    for row in rows:
        sheet.append([text or None for text in row])
    midnight = datetime.combine(day, time())
    book.properties.title = _book_title(day)
    book.properties.creator = "jgsw-lifecycle"
    book.properties.created = book.properties.modified = midnight
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(book, archive).save()  # save_workbook would stamp the time of day
    return fixed_zip_times(out.getvalue())


def text_cell(sheet: Any, text: str, font: Font) -> Any:
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(sheet, value=text)
    cell.font = font
    return cell


def display_width(text: str) -> int:
    """Columns a text takes in a spreadsheet: Chinese characters take two."""
    if text.isascii():  # codes, dates: most cells
        return len(text)
    return sum(map(_char_width, text))


@functools.cache  # a catalogue uses a few thousand characters, each on many rows
def _char_width(ch: str) -> int:
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


def fixed_zip_times(data: bytes) -> bytes:
    """The same archive with every member dated 1980-01-01 (the zip format's
    first day), instead of the moment it was written."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for member in source.infolist():
            target.writestr(zipfile.ZipInfo(member.filename, ZIP_EPOCH), source.read(member),
                            zipfile.ZIP_DEFLATED)
    return out.getvalue()


def render_sha256(named: list[tuple[str, bytes]]) -> bytes:
    """The format `sha256sum -c` reads: hex digest, two spaces, file name."""
    return "".join(f"{hashlib.sha256(data).hexdigest()}  {name}\n" for name, data in named).encode()


# --------------------------------------------------------------------- write
def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomically(path: Path, data: bytes) -> None:
    """Temp file in the same directory, write, fsync, rename over, fsync the directory:
    a reader sees the old file or the new one, never a part."""
    publish([(stage(path, data), path)])


def stage(path: Path, data: bytes) -> Path:
    """`data` in a temp file beside `path`, on disk (fsynced), for `publish`."""
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        mask = os.umask(0)
        os.umask(mask)
        os.fchmod(fd, 0o666 & ~mask)  # mkstemp makes 0600; a snapshot is for readers
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
    return Path(temp)


def publish(staged: list[tuple[Path, Path]]) -> None:
    """Rename each staged temp file over its path, in order, then fsync their
    directory once. A failure removes the temp files not yet renamed."""
    try:
        for temp, path in staged:
            os.replace(temp, path)
    except BaseException:
        discard(staged)
        raise
    for directory in dict.fromkeys(path.parent for _, path in staged):
        _fsync_dir(directory)


def discard(staged: list[tuple[Path, Path]]) -> None:
    for temp, _ in staged:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)


def snapshots_in(directory: Path) -> dict[date, list[Path]]:
    """Snapshot files in `directory`, by the date in their names."""
    found: dict[date, list[Path]] = {}
    for p in directory.iterdir():
        m = NAME.match(p.name)
        if m and p.is_file():
            try:
                day = date.fromisoformat(m.group(1))
            except ValueError:
                continue
            found.setdefault(day, []).append(p)
    return found


def prune(directory: Path, keep: int, spare: date | None = None) -> list[Path]:
    """Delete every snapshot set but the `keep` newest dates (and `spare`, the
    one just written, even if older). Returns the deleted paths."""
    if keep < 1:
        raise ValueError("keep must be at least 1")
    sets = snapshots_in(directory)
    kept = set(sorted(sets, reverse=True)[:keep])
    if spare is not None:
        kept.add(spare)
    deleted = []
    for day in sorted(sets):
        if day in kept:
            continue
        for p in sorted(sets[day]):
            p.unlink(missing_ok=True)
            deleted.append(p)
    if deleted:
        _fsync_dir(directory)
    return deleted


class WorkbookBeside:
    """A `CatalogueBook` filled in a forked process, on the other core: `add`
    sends it rows through a pipe while this process goes on reading, and
    `result` waits for its bytes, so the workbook (the slowest of the
    snapshot's files) is mostly written by the time the reading ends. Where
    there is no fork or one core it is filled here; if the child fails, the
    rows sent are written again here: the same bytes either way."""

    def __init__(self, day: date) -> None:
        self._day = day
        self._sent: list[list[list[str]]] = []
        self._book: CatalogueBook | None = None
        self._to_child: Any = None
        self._pid: int | None = None
        if not hasattr(os, "fork") or (os.cpu_count() or 1) < 2:
            self._book = CatalogueBook(day)
            return
        rows_out, rows_in = os.pipe()
        bytes_out, bytes_in = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: fill, send, leave without running the parent's exit handlers
            status = 1
            try:
                os.close(rows_in)
                os.close(bytes_out)
                book = CatalogueBook(day)
                with os.fdopen(rows_out, "rb") as source:
                    while True:
                        try:
                            book.add(pickle.load(source))
                        except EOFError:  # the parent has sent every row
                            break
                with os.fdopen(bytes_in, "wb") as sink:
                    sink.write(book.close())
                status = 0
            finally:
                os._exit(status)
        os.close(rows_out)
        os.close(bytes_in)
        self._pid = pid
        self._from_child = bytes_out
        self._to_child = os.fdopen(rows_in, "wb")

    def add(self, rows: list[list[str]]) -> None:
        if self._book is not None:
            self._book.add(rows)
            return
        self._sent.append(rows)
        if self._to_child is None:
            return
        try:
            pickle.dump(rows, self._to_child, protocol=pickle.HIGHEST_PROTOCOL)
            self._to_child.flush()  # the child starts on them now, not when a buffer fills
        except BrokenPipeError:  # the child is gone: `result` writes them here
            self._stop_sending()

    def sent(self) -> None:
        """Every row is sent: the child closes the workbook (XlsxWriter's
        longest step) while this process goes on."""
        self._stop_sending()

    def result(self) -> bytes:
        if self._book is not None:
            return self._book.close()
        self._stop_sending()
        data, status = self._end_child(read=True)
        if status == 0:
            return data
        book = CatalogueBook(self._day)
        for rows in self._sent:
            book.add(rows)
        return book.close()

    def cancel(self) -> None:
        """The snapshot failed: end the child (if not already waited for)
        without its workbook."""
        self._stop_sending()
        self._end_child(read=False)

    def _end_child(self, read: bool) -> tuple[bytes, int]:
        """Read the child's bytes (or end it), wait for it: once only."""
        if self._pid is None:
            return b"", 1
        pid, self._pid = self._pid, None
        with os.fdopen(self._from_child, "rb") as pipe:
            if read:
                data = pipe.read()
            else:
                data = b""
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGTERM)
        _, status = os.waitpid(pid, 0)
        return data, status

    def _stop_sending(self) -> None:
        if self._to_child is not None:
            with contextlib.suppress(BrokenPipeError):
                self._to_child.close()
            self._to_child = None


def write(app: Any, directory: Path | str, day: date | None = None,
          keep: int | None = None) -> tuple[list[Path], dict[str, Any]]:
    """Write catalogue-<day>.json, .csv, .xlsx and .sha256 into `directory`.
    Returns the written paths and a summary (as_of, position, chain_head,
    count, deleted)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    day = day or app.today()
    # Forked before the read, so the workbook is written from each batch of
    # rows as it is read: the JSON and CSV need every row first.
    workbook = WorkbookBeside(day)
    views: list[dict[str, Any]] = []

    def read(rows: list[StandardRows]) -> None:
        batch = views_of(day, rows)
        views.extend(batch)
        workbook.add(xlsx_rows(batch))

    files: list[tuple[str, bytes]] = []
    staged: list[tuple[Path, Path]] = []

    def add(kind: str, data: bytes) -> None:
        path = directory / file_name(day, kind)
        files.append((path.name, data))
        staged.append((stage(path, data), path))

    try:
        with app.reads.consistent() as reads:
            position, head, _ = reads.everything_on(day, read)
            workbook.sent()
            due = citations.due(reads, day, reviews.DEFAULT_WITHIN, None)
        signed = app.signer.sign(position, head)
        # written to disk while the workbook is finished; renamed into place
        # only once every file is made
        add("json", render_json(day, position, head, views, signed, due))
        add("csv", render_csv(day, views))
        add("xlsx", workbook.result())
        add("sha256", render_sha256(files))
    except BaseException:
        workbook.cancel()
        discard(staged)
        raise
    publish(staged)
    written = [path for _, path in staged]
    deleted = prune(directory, keep, spare=day) if keep is not None else []
    return written, {"as_of": day.isoformat(), "position": position, "chain_head": head,
                     "count": len(views), "deleted": deleted}


# --------------------------------------------------------------------- verify
def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else repr(value)


def _diff(path: str, got: Any, want: Any, out: list[str]) -> None:
    """Field-by-field differences of two JSON values: file (`got`) vs log (`want`)."""
    if isinstance(got, dict) and isinstance(want, dict):
        for key in sorted(set(got) | set(want)):
            where = f"{path}.{key}" if path else key
            if key not in got:
                out.append(f"{where}: missing from the file, the log says {_show(want[key])}")
            elif key not in want:
                out.append(f"{where}: the file has {_show(got[key])}, the log has no such field")
            else:
                _diff(where, got[key], want[key], out)
    elif isinstance(got, list) and isinstance(want, list) and len(got) == len(want):
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            _diff(f"{path}[{i}]", g, w, out)
    elif got != want or type(got) is not type(want):
        out.append(f"{path}: file says {_show(got)}, the log says {_show(want)}")


def _compare_standards(got: Any, want: list[dict[str, Any]], out: list[str]) -> None:
    if not isinstance(got, list) or not all(isinstance(s, dict) and "code" in s for s in got):
        out.append("standards: the file's list is not a list of standards with codes")
        return
    mine = {s["code"]: s for s in got}
    theirs = {s["code"]: s for s in want}
    if len(mine) != len(got):
        out.append("standards: the file lists a code more than once")
    for code in sorted(set(mine) - set(theirs)):
        out.append(f"a standard the log does not have: {code}")
    for code in sorted(set(theirs) - set(mine)):
        out.append(f"missing from the file: {code}")
    for code in sorted(set(mine) & set(theirs)):
        diffs: list[str] = []
        _diff("", mine[code], theirs[code], diffs)
        out.extend(f"{code}: {d}" for d in diffs)
    shared = [s["code"] for s in got if s["code"] in theirs]
    if shared != sorted(shared):
        out.append("standards: the file's standards are not in code order")


def _compare_csv(name: str, got: bytes, want: bytes, out: list[str]) -> None:
    if got == want:
        return
    before = len(out)
    if not got.startswith(BOM.encode()):
        out.append(f"{name}: the file does not start with the UTF-8 BOM")
    try:
        text = got.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        out.append(f"{name}: not valid UTF-8 ({e})")
        return
    got_rows = list(csv.reader(io.StringIO(text, newline="")))
    want_rows = list(csv.reader(io.StringIO(want.decode("utf-8-sig"), newline="")))
    header = want_rows[0]
    if not got_rows or got_rows[0] != header:
        out.append(f"{name}: header: file says {got_rows[0] if got_rows else []}, expected {header}")
    mine = {r[1]: r for r in got_rows[1:] if len(r) > 1}
    theirs = {r[1]: r for r in want_rows[1:]}
    for code in sorted(set(mine) - set(theirs)):
        out.append(f"{name}: a standard the log does not have: {code}")
    for code in sorted(set(theirs) - set(mine)):
        out.append(f"{name}: missing from the file: {code}")
    for code in sorted(set(mine) & set(theirs)):
        g, w = mine[code], theirs[code]
        if len(g) != len(w):
            out.append(f"{name}: {code}: {len(g)} columns, expected {len(w)}")
            continue
        for column, a, b in zip(header, g, w, strict=True):
            if a != b:
                out.append(f"{name}: {code}: {column}: file says {a!r}, the log says {b!r}")
    if len(out) == before:
        out.append(f"{name}: the bytes differ from the catalogue rebuilt from the log "
                   "(line ends, quoting or row order), though every value matches")


def plain_name(name: str) -> bool:
    """A file name alone, as a snapshot's .sha256 lists its siblings: no
    directory part (either slash), not absolute, not `.` or `..`."""
    return name not in (".", "..") and "/" not in name and "\\" not in name and "\0" not in name


def _sheet_rows(data: bytes) -> list[list[str]]:
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(data), read_only=True).worksheets[0]
    return [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]


def _compare_xlsx(name: str, got: bytes, want: bytes, out: list[str]) -> None:
    if got == want:
        return
    try:
        mine = _sheet_rows(got)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as e:
        out.append(f"{name}: not a workbook that can be read ({type(e).__name__}: {e})")
        return
    theirs = _sheet_rows(want)
    header = theirs[0]
    if not mine or mine[0] != header:
        out.append(f"{name}: header: file says {mine[0] if mine else []}, expected {header}")
        return
    code = header.index(CODE.zh)
    by_code = {r[code]: r for r in mine[1:] if len(r) > code}
    expected = {r[code]: r for r in theirs[1:]}
    before = len(out)
    for missing in sorted(set(expected) - set(by_code)):
        out.append(f"{name}: missing from the file: {missing}")
    for extra in sorted(set(by_code) - set(expected)):
        out.append(f"{name}: a standard the log does not have: {extra}")
    for each in sorted(set(by_code) & set(expected)):
        for column, a, b in zip(header, by_code[each], expected[each], strict=False):
            if a != b:
                out.append(f"{name}: {each}: {column}: file says {a!r}, the log says {b!r}")
    if len(out) == before:
        out.append(f"{name}: the bytes differ from the workbook rebuilt from the log "
                   "(layout or styles), though every value matches")


def _check_sums(sums: Path, out: list[str]) -> None:
    try:
        lines = sums.read_text("utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        out.append(f"{sums.name}: cannot be read ({e})")
        return
    for number, line in enumerate(lines, 1):
        m = re.fullmatch(r"([0-9a-f]{64}) [ *](.+)", line)
        if not m:
            out.append(f"{sums.name}: line {number} is not '<sha256>  <file>'")
            continue
        name = m.group(2)
        if not plain_name(name):
            out.append(f"{sums.name}: line {number} names {name!r}, which is not a file of this "
                       "directory named plainly: not read")
            continue
        target = sums.parent / name
        if target.is_symlink():
            out.append(f"{sums.name}: lists {name}, a symbolic link: not followed, not read")
            continue
        if not target.is_file():
            out.append(f"{sums.name}: lists {name}, which does not exist")
            continue
        actual = hashlib.sha256(target.read_bytes()).hexdigest()
        if actual != m.group(1):
            out.append(f"{sums.name}: {m.group(2)}: the list says sha256 {m.group(1)}, "
                       f"the file's is {actual}")


def _shaped_like(want: Any, got: Any) -> Any:
    """`want` with only the fields `got` has (objects compared key by key, lists item by item)."""
    if isinstance(want, dict) and isinstance(got, dict):
        return {k: _shaped_like(v, got[k]) for k, v in want.items() if k in got}
    if isinstance(want, list) and isinstance(got, list) and len(want) == len(got):
        return [_shaped_like(w, g) for w, g in zip(want, got, strict=True)]
    return want


def _compare_json(name: str, doc: dict[str, Any], want: dict[str, Any], problems: list[str]) -> None:
    before = len(problems)
    for key in ("count", "signed_head", "reviews_due"):
        if key in want and doc.get(key) != want[key]:
            problems.append(f"{key}: file says {_show(doc.get(key))}, the log gives {want[key]}")
    for key in sorted(set(doc) - set(want)):
        problems.append(f"{key}: the file has a field the snapshot format does not")
    _compare_standards(doc.get("standards"), want["standards"], problems)
    if len(problems) == before and doc.get("format") == FORMAT \
            and not any(p.startswith(("chain_head", "format")) for p in problems):
        problems.append(f"{name}: the bytes differ from the catalogue rebuilt from the log "
                        "(layout or key order), though every value matches")


def _compare_siblings(path: Path, day: date, rows: list[StandardRows], out: list[str]) -> None:
    """The CSV, the workbook and the SHA-256 list beside the JSON, where present
    (snapshots written before the workbook existed have none)."""
    beside = path.with_suffix(".csv")
    if beside.is_file():
        _compare_csv(beside.name, beside.read_bytes(), render_csv(day, views_of(day, rows)), out)
    beside = path.with_suffix(".xlsx")
    if beside.is_file():
        got, views = beside.read_bytes(), views_of(day, rows)
        want = render_xlsx(day, views)
        if got != want and got == render_xlsx_openpyxl(day, views):
            want = got  # written before XlsxWriter, and exactly what the log gives then
        _compare_xlsx(beside.name, got, want, out)
    sums = path.with_suffix(".sha256")
    if sums.is_file():
        _check_sums(sums, out)


def _format_of(doc: dict[str, Any], problems: list[str]) -> str:
    """The snapshot format to render the log in: the file's own, if known."""
    fmt = doc.get("format")
    if fmt in (FORMAT, FORMAT_WITHOUT_FILES):
        return str(fmt)
    problems.append(f"format: file says {_show(fmt)}, expected {FORMAT!r}")
    return FORMAT


def verify(app: Any, json_path: Path | str,
           progress: Callable[[int, int], None] | None = None) -> tuple[list[str], dict[str, Any]]:
    """Prove a snapshot against the log. Returns (problems, facts); no
    problems means the JSON (and the CSV and .sha256 beside it, if present)
    are byte for byte what the log up to the recorded position gives.
    `progress(events, total)` is called as the log is read (twice: replay, chain)."""
    path = Path(json_path)
    problems: list[str] = []
    raw = path.read_bytes()
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        return [f"{path.name} is not valid JSON: {e}"], {}
    if not isinstance(doc, dict):
        return [f"{path.name} is JSON but not a snapshot: the top level is not an object"], {}
    fmt = _format_of(doc, problems)
    try:
        day = date.fromisoformat(doc["as_of"])
    except (KeyError, TypeError, ValueError):
        return [*problems, f"as_of: file says {_show(doc.get('as_of'))}, not a YYYY-MM-DD date"], {}
    position = doc.get("position")
    if not isinstance(position, int) or isinstance(position, bool) or position < 0:
        return [*problems, f"position: file says {_show(position)}, not a log position"], {}
    m = NAME.match(path.name)
    if m and m.group(1) != day.isoformat():
        problems.append(f"as_of: file says {day.isoformat()}, its name says {m.group(1)}")

    end = app.recorder.max_notification_id() or 0
    if position > end:
        return [*problems, f"position: file says {position}, the log ends at {end}"], {}

    total = 2 * position

    def step(n: int) -> None:
        if progress is not None:
            progress(n, total)

    then = reads_at(app, position, step)  # the projections as the log up to the position makes them
    _, _, rows = then.everything_on(day)
    due = citations.due(then, day, reviews.DEFAULT_WITHIN, None)
    head, last = head_at(app, position, step)
    if last != position:
        problems.append(f"position: file says {position}, but the log has no event there "
                        f"(the last one up to it is {last})")
    recorded = app.reads.chain_hashes([position]).get(position, GENESIS if position == 0 else None)
    if doc.get("chain_head") != head:
        problems.append(f"chain_head: file says {_show(doc.get('chain_head'))}, "
                        f"the log gives {head} at position {position}")
    if recorded != head:
        problems.append(f"chain table: records {_show(recorded)} at position {position}, the log "
                        f"gives {head}: the log was altered at or before position {position}")

    signed = app.signer.sign(position, head)
    want_bytes = render_json(day, position, head, views_of(day, rows), signed, due, fmt)
    if fmt != FORMAT:
        # An older format was written by an older version, whose views had fewer
        # fields: every value the file holds must still be what the log gives.
        _compare_json(path.name, doc, _shaped_like(json.loads(want_bytes), doc), problems)
    elif raw != want_bytes:
        _compare_json(path.name, doc, json.loads(want_bytes), problems)

    _check_files(app, json.loads(want_bytes)["standards"], problems)
    _compare_siblings(path, day, rows, problems)
    return problems, {"as_of": day.isoformat(), "position": position, "chain_head": head,
                      "count": len(rows)}


def _check_files(app: Any, standards: list[dict[str, Any]], problems: list[str]) -> None:
    """The store still holds the bytes of every file the snapshot lists."""
    for view in standards:
        for part in ("edition", "draft"):
            for f in (view.get(part) or {}).get("files", []):
                problem = app.contents.hash_problem(f["sha256"], f["size"])
                if problem is not None:
                    problems.append(f"{view['code']}: {part} file {f['name']!r} ({f['sha256']}): {problem}")
