"""Text extraction (projections/text.py): the honest samples give their
lines, limits cut deterministically (never a clock), and what is not a text
format says so."""

from __future__ import annotations

import io

import pytest

from lifecycle.files import Extraction
from projections import text
from tests import files as f


@pytest.mark.parametrize("sample", sorted(f.HONEST))
def test_each_sample_gives_its_text(sample):
    media_type, line = f.HONEST[sample]
    found = text.extract(media_type, io.BytesIO(f.sample(sample)))
    assert found.status == "extracted" and found.detail is None
    assert line in found.text
    assert "\x00" not in found.text


def test_the_same_bytes_give_the_same_text():
    data = f.sample("sample-zh.pdf")
    assert text.extract(f.PDF, io.BytesIO(data)) == text.extract(f.PDF, io.BytesIO(data))


def test_pages_past_the_limit_are_not_read(monkeypatch):
    monkeypatch.setattr(text, "MAX_PAGES", 2)
    found = text.extract(f.PDF, io.BytesIO(f.pdf_with_text("page", pages=3)))
    assert found.status == "truncated" and "first 2 pages" in found.detail
    assert "page 1" in found.text and "page 2" in found.text and "page 3" not in found.text
    ofd = f.ofd(document=b'<ofd:Document xmlns:ofd="http://www.ofdspec.org/2016"><ofd:Pages>'
                         b'<ofd:Page BaseLoc="P/1.xml"/><ofd:Page BaseLoc="P/2.xml"/><ofd:Page BaseLoc="P/3.xml"/>'
                         b'</ofd:Pages></ofd:Document>',
                pages={f"Doc_0/P/{n}.xml": f.page_xml(f"第{n}页") for n in (1, 2, 3)})
    found = text.extract(f.OFD, io.BytesIO(ofd))
    assert found.status == "truncated" and found.text == "第1页\n第2页"


def test_text_past_the_limit_is_cut(monkeypatch):
    monkeypatch.setattr(text, "MAX_CHARS", 10)
    found = text.extract(f.TXT, io.BytesIO("一二三四五六七八九十十一十二".encode()))
    assert found == Extraction("truncated", "一二三四五六七八九十", "the text is cut at 10 characters")


def test_formats_without_text_say_so():
    found = text.extract(f.PNG, io.BytesIO(b"\x89PNG\r\n\x1a\n"))
    assert found == Extraction("none", detail="no text is extracted from PNG files")
    assert text.extract(f.PDF, io.BytesIO(f.pdf([b"<< /Type /Catalog /Pages 2 0 R >>",
                                                  b"<< /Type /Pages /Kids [] /Count 0 >>"]))).status == "empty"


def test_control_characters_are_dropped_and_line_ends_unified():
    found = text.extract(f.TXT, io.BytesIO("甲\x00乙\r\n丙\r丁\x1b".encode()))
    assert found.text == "甲乙\n丙\n丁"


def test_an_ofd_part_absolute_from_the_package_root():
    ofd = f.ofd(document=b'<ofd:Document xmlns:ofd="http://www.ofdspec.org/2016"><ofd:Pages>'
                         b'<ofd:Page BaseLoc="/Doc_0/Pages/Page_0/Content.xml"/></ofd:Pages></ofd:Document>')
    assert text.extract(f.OFD, io.BytesIO(ofd)).text == "第一页"
