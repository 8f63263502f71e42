"""What a file of a draft or edition may be (API.md "Documents of an edition"):
its name, its media type, and the bytes each media type must start with.

These are rules of the register, not of HTTP: the API checks them before it
sends AttachFile, and the domain checks the name and media type again, so a
command from any entry point keeps them. The checks read only the start of
the bytes, a ZIP's central directory, or (for text) decode it incrementally:
a 50 MB file is never read into memory."""

from __future__ import annotations

import codecs
import unicodedata
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from lifecycle.errors import InvalidInput, UnsupportedMedia

MAX_NAME = 200

PDF = "application/pdf"
OFD = "application/ofd"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
DOC = "application/msword"
ODT = "application/vnd.oasis.opendocument.text"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TXT = "text/plain"
MARKDOWN = "text/markdown"
PNG = "image/png"
JPEG = "image/jpeg"

# media type -> how people name it (in messages)
MEDIA_TYPES = {
    PDF: "PDF", OFD: "OFD (GB/T 33190)", DOCX: "DOCX", DOC: "DOC", ODT: "ODT", XLSX: "XLSX",
    TXT: "TXT", MARKDOWN: "Markdown", PNG: "PNG", JPEG: "JPEG",
}
TEXT_TYPES = (TXT, MARKDOWN)
# Bytes sent with no type of their own (application/octet-stream, as generated
# clients send every upload) take the type their name's extension says.
OCTET_STREAM = "application/octet-stream"
EXTENSIONS = {
    ".pdf": PDF, ".ofd": OFD, ".docx": DOCX, ".doc": DOC, ".odt": ODT, ".xlsx": XLSX, ".txt": TXT,
    ".md": MARKDOWN, ".markdown": MARKDOWN, ".png": PNG, ".jpg": JPEG, ".jpeg": JPEG,
}
OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Word 97-2003 (.doc) compound file
ODT_MIMETYPE = ODT.encode()

# Bidirectional controls make a name read differently from what it is.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")


@dataclass(frozen=True)
class Extraction:
    """What the read side got out of a file's bytes: `status` is `extracted`,
    `truncated` (a byte or page limit stopped it), `empty` (no text layer),
    `none` (a format without text to extract) or `failed` (`detail` says why)."""

    status: str
    text: str = ""
    detail: str | None = None


@dataclass
class Staged:
    """Bytes received for a file, hashed and counted, waiting to be recorded
    with the event that names them (in the same transaction). `source` is a
    seekable binary file (a spooled temporary file); `text` what was
    extracted from it before the transaction began."""

    sha256: str
    size: int
    media_type: str
    source: IO[bytes]
    text: Extraction

    def chunks(self, size: int) -> Iterator[bytes]:
        self.source.seek(0)
        while block := self.source.read(size):
            yield block


def check_name(name: str) -> None:
    """A file name as people write it (标准正文.pdf), safe anywhere a file
    is saved: no path, no hidden file, nothing invisible (422 otherwise)."""
    problem = name_problem(name)
    if problem is not None:
        raise InvalidInput("name", f"file name {name[:80]!r}: {problem}")


def name_problem(name: str) -> str | None:
    if not name or not name.strip():
        return "a file name must not be empty"
    if len(name) > MAX_NAME:
        return f"{len(name)} characters, at most {MAX_NAME}"
    if "/" in name or "\\" in name:
        return "must not contain / or \\ (a file name, not a path)"
    if ".." in name:
        return "must not contain .."
    if name.startswith("."):
        return "must not start with a dot"
    bad = next((ch for ch in name if unicodedata.category(ch) in ("Cc", "Zl", "Zp", "Cs")
                or ch in BIDI_CONTROLS), None)
    if bad is not None:
        return f"must not contain control characters (U+{ord(bad):04X})"
    if name != name.strip():
        return "must not start or end with white space"
    return None


def media_type_of(header: str | None) -> str:
    """The bare media type of a Content-Type header, in lower case."""
    return (header or "").split(";", 1)[0].strip().lower()


def media_type_of_upload(content_type: str | None, name: str) -> str:
    """The media type of an upload: its Content-Type, or, for
    application/octet-stream, the type its name's extension names (415 when
    it names none)."""
    media_type = media_type_of(content_type)
    if media_type != OCTET_STREAM:
        return media_type
    suffix = "." + name.rpartition(".")[2].lower() if "." in name else ""
    if suffix not in EXTENSIONS:
        raise UnsupportedMedia(
            f"bytes sent as {OCTET_STREAM} take the media type of the file name's extension, and "
            f"{name[:80]!r} has none of {', '.join(EXTENSIONS)}: name the file so, or send its "
            "media type as Content-Type", media_type=OCTET_STREAM, allowed=sorted(MEDIA_TYPES))
    return EXTENSIONS[suffix]


def check_media_type(media_type: str) -> None:
    if media_type not in MEDIA_TYPES:
        shown = media_type or "none"
        raise UnsupportedMedia(
            f"media type {shown!r} is not accepted for a file of a standard: one of "
            f"{', '.join(f'{label} ({t})' for t, label in MEDIA_TYPES.items())}",
            media_type=media_type or None, allowed=sorted(MEDIA_TYPES))


def check_bytes(media_type: str, source: IO[bytes]) -> None:
    """Refuse (415) bytes that are not what their media type says, by each
    type's signature; reads only the start of the file, a ZIP's directory, or
    decodes text incrementally."""
    check_media_type(media_type)
    source.seek(0)
    head = source.read(1024)
    problem = _signature_problem(media_type, head, source)
    source.seek(0)
    if problem is not None:
        raise UnsupportedMedia(f"the bytes are not {MEDIA_TYPES[media_type]}: {problem}",
                               media_type=media_type)


def _signature_problem(media_type: str, head: bytes, source: IO[bytes]) -> str | None:
    if media_type == PDF:
        return None if b"%PDF-" in head else "a PDF starts with %PDF- (within its first 1024 bytes)"
    if media_type == PNG:
        return None if head.startswith(b"\x89PNG\r\n\x1a\n") else "a PNG starts with \\x89PNG"
    if media_type == JPEG:
        return None if head.startswith(b"\xff\xd8\xff") else "a JPEG starts with FF D8 FF"
    if media_type == DOC:
        return None if head.startswith(OLE2) else "a Word 97-2003 file is an OLE2 compound file"
    if media_type in TEXT_TYPES:
        return _utf8_problem(source)
    required = {DOCX: "word/document.xml", XLSX: "xl/workbook.xml", OFD: "OFD.xml", ODT: "content.xml"}
    return _zip_problem(source, required[media_type], media_type)


def _zip_problem(source: IO[bytes], member: str, media_type: str) -> str | None:
    label = MEDIA_TYPES[media_type]
    try:
        with zipfile.ZipFile(source) as archive:  # reads the central directory only
            names = set(archive.namelist())
            if member not in names:
                return f"a {label} file is a ZIP holding {member}, and this ZIP has none"
            if media_type == ODT and _odt_mimetype(archive) != ODT_MIMETYPE:
                return f"an ODT file's mimetype entry says {ODT}"
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        return f"a {label} file is a ZIP archive, and this is not one"
    return None


def _odt_mimetype(archive: zipfile.ZipFile) -> bytes:
    try:
        info = archive.getinfo("mimetype")
    except KeyError:
        return b""
    if info.file_size > 100:
        return b""
    with archive.open(info) as f:
        return f.read(101).strip()


def _utf8_problem(source: IO[bytes]) -> str | None:
    source.seek(0)
    decoder: Any = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    while block := source.read(1 << 20):
        try:
            decoder.decode(block)
        except UnicodeDecodeError as e:
            return f"text must be UTF-8; byte {offset + e.start} is not"
        offset += len(block)
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return "text must be UTF-8; it ends inside a character"
    return None
