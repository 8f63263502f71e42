"""Files for the documents tests: the honest samples of ../shared/samples, and
hostile ones made here (wrong signatures, zip bombs, crafted PDFs)."""

from __future__ import annotations

import io
import zipfile
import zlib
from pathlib import Path

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "samples"  # shared/ beside the checkout

PDF = "application/pdf"
OFD = "application/ofd"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
ODT = "application/vnd.oasis.opendocument.text"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOC = "application/msword"
TXT = "text/plain"
MARKDOWN = "text/markdown"
PNG = "image/png"
JPEG = "image/jpeg"

# sample file -> (media type, a line of its text)
HONEST = {
    "sample-zh.pdf": (PDF, "3.1 餐具每餐消毒。"),
    "sample-zh.ofd": (OFD, "3.1 会场提前两小时布置完毕。"),
    "sample-zh.docx": (DOCX, "2.1 电梯每日巡检。"),
    "sample-zh.odt": (ODT, "2.1 草坪每周修剪。"),
    "sample-zh.md": (MARKDOWN, "2.1 接待对象、标准和陪同人数按规定执行。"),
}


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def zipped(parts: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as z:
        for name, data in parts.items():
            z.writestr(name, data)
    return out.getvalue()


def zip_bomb(member: str, unpacked: int, others: dict[str, bytes] | None = None) -> bytes:
    """A ZIP whose `member` unpacks to `unpacked` zero bytes (a few hundred KB packed)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for name, data in (others or {}).items():
            z.writestr(name, data)
        with z.open(member, "w", force_zip64=True) as f:
            block = bytes(1 << 20)
            for _ in range(unpacked // len(block)):
                f.write(block)
    return out.getvalue()


def ofd(pages: dict[str, bytes] | None = None, document: bytes | None = None,
        root: bytes | None = None) -> bytes:
    """An OFD package (GB/T 33190) with the given parts."""
    ns = b'xmlns:ofd="http://www.ofdspec.org/2016"'
    root = root or (b'<?xml version="1.0" encoding="UTF-8"?><ofd:OFD ' + ns +
                    b' DocType="OFD" Version="1.0"><ofd:DocBody><ofd:DocRoot>Doc_0/Document.xml'
                    b'</ofd:DocRoot></ofd:DocBody></ofd:OFD>')
    document = document or (b'<?xml version="1.0" encoding="UTF-8"?><ofd:Document ' + ns +
                            b'><ofd:Pages><ofd:Page ID="1" BaseLoc="Pages/Page_0/Content.xml"/>'
                            b'</ofd:Pages></ofd:Document>')
    pages = pages or {"Doc_0/Pages/Page_0/Content.xml": page_xml("第一页")}
    return zipped({"OFD.xml": root, "Doc_0/Document.xml": document, **pages})


def page_xml(text: str) -> bytes:
    return ('<?xml version="1.0" encoding="UTF-8"?><ofd:Page xmlns:ofd="http://www.ofdspec.org/2016">'
            '<ofd:Content><ofd:Layer ID="2"><ofd:TextObject ID="3" Boundary="0 0 10 10" Font="1" '
            f'Size="4"><ofd:TextCode X="0" Y="4">{text}</ofd:TextCode></ofd:TextObject></ofd:Layer>'
            '</ofd:Content></ofd:Page>').encode()


def pdf(objects: list[bytes], root: int = 1) -> bytes:
    """A PDF with these objects (1 0 obj …), a valid xref table and trailer."""
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root {root} 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def stream(data: bytes, extra: bytes = b"") -> bytes:
    return b"<< /Length " + str(len(data)).encode() + b" " + extra + b" >>\nstream\n" + data + b"\nendstream"


def pdf_with_text(text: str = "Hello", padding: int = 0, pages: int = 1) -> bytes:
    """`pages` pages showing `text` (ASCII, Helvetica; page n adds " n"); `padding`
    bytes of an unreferenced binary stream make it as large as wanted."""
    kids = " ".join(f"{4 + 2 * n} 0 R" for n in range(pages))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    for n in range(pages):
        shown = text if pages == 1 else f"{text} {n + 1}"
        objects += [f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {5 + 2 * n} 0 R "
                    "/Resources << /Font << /F1 3 0 R >> >> >>".encode(),
                    stream(f"BT /F1 12 Tf 72 720 Td ({shown}) Tj ET".encode())]
    if padding:
        objects.append(stream(bytes(range(256)) * (padding // 256)))
    return pdf(objects)


def pdf_flate_bomb(unpacked: int = 200 * 1024 * 1024) -> bytes:
    """A page whose content stream inflates to `unpacked` bytes of spaces."""
    squeezer = zlib.compressobj(9)
    packed = b"".join(squeezer.compress(b" " * (1 << 20)) for _ in range(unpacked >> 20)) + squeezer.flush()
    return pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
        stream(packed, b"/Filter /FlateDecode"),
    ])


def pdf_page_loop() -> bytes:
    """A page tree whose Kids name the tree itself: a naive walk never ends."""
    return pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 >>",
        b"<< /Type /Pages /Parent 2 0 R /Kids [2 0 R 3 0 R] /Count 1000000000 >>",
    ])
