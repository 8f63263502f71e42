"""Text of a file's bytes, for search and compare: PDF (its text layer, pypdf),
OFD (GB/T 33190: the TextCode of each page's Content.xml), DOCX (python-docx),
ODT (odfpy), TXT and Markdown (UTF-8).

Extraction is a function of the bytes and the media type alone, so a rebuild
gives the same text: it is bounded by bytes, pages and characters (never by a
clock). Whatever a file does to a parser (a crafted PDF, a zip bomb, bad XML),
the answer is an Extraction saying so; extraction never raises."""

from __future__ import annotations

import codecs
import posixpath
import re
import zipfile
from collections.abc import Iterator
from typing import IO, Any

from lifecycle import files
from lifecycle.files import Extraction

MAX_CHARS = 2_000_000               # text kept per file (about 1,000 pages of Chinese)
MAX_PAGES = 2_000                   # PDF and OFD pages read
MAX_MEMBER_BYTES = 64 * 1024 * 1024  # one part of a ZIP (DOCX, ODT, OFD), unpacked
MAX_ARCHIVE_BYTES = 256 * 1024 * 1024  # all parts of a ZIP, unpacked, as declared
MAX_MEMBERS = 10_000
PDF_LIMITS: dict[str, Any] = {  # pypdf's own resource limits, tightened
    "zlib_maximum_output_length": 32 * 1024 * 1024,
    "lzw_maximum_output_length": 32 * 1024 * 1024,
    "run_length_maximum_output_length": 32 * 1024 * 1024,
    "brotli_maximum_output_length": 32 * 1024 * 1024,
    "array_based_stream_maximum_output_length": 32 * 1024 * 1024,
    "jbig2_maximum_output_length": 32 * 1024 * 1024,
    "stream_decoding_work_maximum_length": 64 * 1024 * 1024,
    "page_tree_maximum_entries": 20_000,
    "page_tree_maximum_page_entries": 200_000,
    "xform_maximum_invocations_per_extraction": 500,
    "jbig2dec_binary": None,  # never run an outside program on uploaded bytes
}
OFD_NS = "http://www.ofdspec.org/2016"
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class Refused(Exception):
    """A limit stopped extraction before any parser saw the bytes."""


class Cut(Exception):
    """MAX_CHARS reached: the text so far is kept."""


class Collector:
    """Text gathered up to MAX_CHARS."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.size = 0
        self.pages_cut = False  # MAX_PAGES stopped the reading

    def add(self, text: str) -> None:
        text = clean(text)
        room = MAX_CHARS - self.size
        self.parts.append(text[:room])
        self.size += min(len(text), room)
        if len(text) > room:
            raise Cut

    def text(self) -> str:
        return "\n".join(p for p in self.parts if p)


def clean(text: str) -> str:
    """One line end, no control characters (PostgreSQL text cannot hold NUL)."""
    return _CONTROLS.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def extract(media_type: str, source: IO[bytes]) -> Extraction:
    """The text of the bytes in `source` (a seekable binary file)."""
    reader = READERS.get(media_type)
    if reader is None:
        label = files.MEDIA_TYPES.get(media_type, media_type)
        return Extraction("none", detail=f"no text is extracted from {label} files")
    out = Collector()
    try:
        source.seek(0)
        reader(source, out)
    except Cut:
        return Extraction("truncated", out.text(), f"the text is cut at {MAX_CHARS:,} characters")
    except Refused as e:
        return Extraction("failed", detail=str(e))
    except Exception as e:  # a crafted file may break any parser: never the upload
        return Extraction("failed", detail=f"the file could not be read ({type(e).__name__}: "
                                           f"{str(e)[:200]})")
    finally:
        source.seek(0)
    text = out.text()
    if out.pages_cut:
        return Extraction("truncated", text, f"only the first {MAX_PAGES:,} pages are read")
    return Extraction("extracted", text) if text.strip() else \
        Extraction("empty", detail="the file has no text layer (a scan?)")


# --------------------------------------------------------------------- readers
def _plain(source: IO[bytes], out: Collector) -> None:
    decoder: Any = codecs.getincrementaldecoder("utf-8")(errors="replace")
    while block := source.read(1 << 20):
        out.add(decoder.decode(block))
    out.add(decoder.decode(b"", final=True))


def _pdf(source: IO[bytes], out: Collector) -> None:
    import pypdf

    with pypdf.apply_configuration(**PDF_LIMITS):
        reader = pypdf.PdfReader(source, strict=False)
        pages = reader.pages
        count = len(pages)
        for number in range(min(count, MAX_PAGES)):
            page = pages[number]
            contents = page.get_contents()
            if contents is not None:
                contents.get_data()  # a limit reached here fails the extraction (extract_text hides it)
            out.add(page.extract_text() or "")
        out.pages_cut = count > MAX_PAGES


def archive(source: IO[bytes]) -> zipfile.ZipFile:
    """A ZIP whose declared sizes are within the limits: a zip bomb is refused
    from its directory, before anything is unpacked (and zipfile never
    unpacks a part beyond its declared size)."""
    zf = zipfile.ZipFile(source)
    infos = zf.infolist()
    if len(infos) > MAX_MEMBERS:
        raise Refused(f"the archive has {len(infos):,} parts, more than {MAX_MEMBERS:,}")
    total = 0
    for info in infos:
        if info.file_size > MAX_MEMBER_BYTES:
            raise Refused(f"zip bomb? {info.filename} would unpack to {info.file_size:,} bytes, "
                          f"more than {MAX_MEMBER_BYTES:,}")
        total += info.file_size
    if total > MAX_ARCHIVE_BYTES:
        raise Refused(f"zip bomb? the archive would unpack to {total:,} bytes, more than "
                      f"{MAX_ARCHIVE_BYTES:,}")
    return zf


def member(zf: zipfile.ZipFile, name: str) -> bytes:
    """One part, read to at most MAX_MEMBER_BYTES whatever its header says."""
    with zf.open(name) as f:
        data = f.read(MAX_MEMBER_BYTES + 1)
    if len(data) > MAX_MEMBER_BYTES:
        raise Refused(f"zip bomb? {name} unpacks to more than {MAX_MEMBER_BYTES:,} bytes")
    return data


def _docx(source: IO[bytes], out: Collector) -> None:
    import docx

    archive(source).close()
    source.seek(0)
    document = docx.Document(source)
    for block in document.iter_inner_content():
        if hasattr(block, "rows"):  # a table: its cells, row by row
            for row in block.rows:
                out.add("\t".join(cell.text for cell in row.cells))
        else:
            out.add(block.text)


def _odt(source: IO[bytes], out: Collector) -> None:
    from odf import opendocument, teletype
    from odf.namespaces import TEXTNS

    archive(source).close()
    source.seek(0)
    document = opendocument.load(source)

    def paragraphs(node: Any) -> Iterator[Any]:
        for child in node.childNodes:
            if getattr(child, "qname", None) in ((TEXTNS, "p"), (TEXTNS, "h")):
                yield child
            elif child.nodeType == child.ELEMENT_NODE:
                yield from paragraphs(child)

    for paragraph in paragraphs(document.text):
        out.add(teletype.extractText(paragraph))


def _ofd(source: IO[bytes], out: Collector) -> None:
    """OFD.xml -> each DocRoot's Document.xml -> each page's Content.xml -> TextCode."""
    from defusedxml import ElementTree

    zf = archive(source)

    def xml(name: str) -> Any:
        return ElementTree.fromstring(member(zf, name))

    ns = {"ofd": OFD_NS}
    pages_read = 0
    for root in xml("OFD.xml").iterfind("ofd:DocBody/ofd:DocRoot", ns):
        doc_path = _ofd_path("", root.text or "")
        document = xml(doc_path)
        for page in document.iterfind("ofd:Pages/ofd:Page", ns):
            if pages_read >= MAX_PAGES:
                out.pages_cut = True
                return
            pages_read += 1
            content = xml(_ofd_path(posixpath.dirname(doc_path), page.get("BaseLoc", "")))
            for text_object in content.iter(f"{{{OFD_NS}}}TextObject"):
                out.add("".join(code.text or "" for code in text_object.iter(f"{{{OFD_NS}}}TextCode")))


def _ofd_path(base: str, location: str) -> str:
    """A location in an OFD package: absolute from the root (/Doc_0/…), or
    relative to the part that names it."""
    location = location.strip()
    path = location.lstrip("/") if location.startswith("/") else posixpath.join(base, location)
    normal = posixpath.normpath(path)
    if normal.startswith("..") or not location:
        raise Refused(f"the OFD names a part outside its package: {location!r}")
    return normal


READERS = {
    files.TXT: _plain, files.MARKDOWN: _plain, files.PDF: _pdf, files.DOCX: _docx,
    files.ODT: _odt, files.OFD: _ofd,
}
