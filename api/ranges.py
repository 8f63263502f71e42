"""Range requests (RFC 9110 §14) for file downloads.

werkzeug parses Range headers, but answers 416 where RFC 9110 asks for
something else: a suffix longer than the file ("bytes=-2000" of 1,000 bytes
is the whole file, §14.1.2), an unknown range unit (to be ignored, §14.2),
several ranges (a server may ignore them, or coalesce them, §14.2, §15.3.7).
So the few rules are here, checked against the RFC's examples in
tests/api/test_files.py."""

from __future__ import annotations

import re

_BYTES = re.compile(r"^\s*bytes\s*=(.*)$", re.IGNORECASE | re.DOTALL)
_SPEC = re.compile(r"^\s*([0-9]*)\s*-\s*([0-9]*)\s*$")


class Unsatisfiable(Exception):
    """No range of the request overlaps the representation: 416."""


def requested(header: str | None, size: int) -> tuple[int, int] | None:
    """The bytes [start, stop) a Range header asks for, as one part; None to
    send the whole file (no Range, another unit, a malformed header, or
    ranges that do not coalesce into one part). Raises Unsatisfiable."""
    if not header:
        return None
    m = _BYTES.match(header)
    if m is None:
        return None  # another range unit: ignored
    ranges: list[tuple[int, int]] = []
    specs = [spec for spec in m.group(1).split(",") if spec.strip()]
    if not specs:
        return None
    for spec in specs:
        part = _SPEC.match(spec)
        if part is None or part.group(1) == part.group(2) == "":
            return None  # malformed: ignored (RFC 9110 §14.2 lets a server ignore it)
        first, last = part.groups()
        if first == "":
            suffix = int(last)
            if suffix > 0:  # bytes=-0 is satisfiable by nothing
                ranges.append((max(0, size - suffix), size))
            continue
        start = int(first)
        if last != "" and int(last) < start:
            return None  # an invalid range: ignored
        if start < size:
            ranges.append((start, size if last == "" else min(int(last) + 1, size)))
    if not ranges:
        raise Unsatisfiable
    merged = coalesce(ranges)
    return merged[0] if len(merged) == 1 else None


def coalesce(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Overlapping or adjacent ranges as one (RFC 9110 §15.3.7)."""
    out: list[tuple[int, int]] = []
    for start, stop in sorted(ranges):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], stop))
        else:
            out.append((start, stop))
    return out


def content_range(start: int, stop: int, size: int) -> str:
    return f"bytes {start}-{stop - 1}/{size}"


def unsatisfied_range(size: int) -> str:
    return f"bytes */{size}"
