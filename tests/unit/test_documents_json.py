"""Projection documents are written by orjson (projections/documents.dumps)
but must be the bytes json's encoder gives: tables recorded by earlier
versions are compared with fresh rows as text (verify, rebuild, golden)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from enum import Enum

from hypothesis import given, settings
from hypothesis import strategies as st

from lifecycle.vocabulary import Stage
from projections.documents import Doc, dumps


def reference(obj):
    def default(o):
        if isinstance(o, date):
            return o.isoformat()
        if isinstance(o, Enum):
            return o.value
        raise TypeError(type(o))
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=default)


scalars = (st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
           | st.text() | st.dates() | st.sampled_from(list(Stage))
           | st.datetimes(timezones=st.just(UTC)) | st.datetimes())
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(st.text(max_size=8), inner, max_size=4)
                      | st.dictionaries(st.integers(-5, 5), inner, max_size=3), max_leaves=20)


@settings(max_examples=400, deadline=None)
@given(values)
def test_dumps_gives_json_encoders_text(value):
    assert dumps(value) == reference(value)
    assert dumps(Doc(d=value)) == reference({"d": value})


def test_every_character_is_escaped_as_json_escapes_it():
    text = "".join(chr(i) for i in range(0x800)) + "\u2028\u2029\ufeff\U0001f600标准"
    assert dumps({"标题": text, "k": [text]}) == reference({"标题": text, "k": [text]})


def test_keys_sort_by_code_point_and_int_keys_as_json_sorts_them():
    doc = {"b": 1, "a": 2, "标": 3, "Z": 4, "é": 5}
    assert dumps(doc) == reference(doc)
    assert dumps({10: "x", 9: "y"}) == reference({10: "x", 9: "y"}) == '{"9":"y","10":"x"}'


def test_a_document_of_a_rebuilt_store_round_trips():
    day = date(2018, 12, 31)
    doc = Doc(edition={"year": 2018, "issued_on": day, "trial": True, "amendments": [],
                       "files": {"标准正文.pdf": {"size": 10, "sha256": "ab" * 32}}}, stage=Stage.ISSUED,
              when=datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC))
    assert dumps(doc) == reference(doc)


json_values = st.recursive(st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
                           | st.text(), lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=30)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_a_snapshots_layout_is_json_dumps_indent_1(value):
    from projections.snapshot import indented

    assert indented(value) == json.dumps(value, ensure_ascii=False, sort_keys=True, indent=1).encode()
    assert indented({"standards": [value, {"x": [value]}]}) == json.dumps(
        {"standards": [value, {"x": [value]}]}, ensure_ascii=False, sort_keys=True, indent=1).encode()
