"""How dates and enums are stored in events, and a standard's Draft and
Edition in its snapshots (eventsourcing's JSON transcoder knows none of them)."""

from __future__ import annotations

from datetime import date
from enum import Enum

from eventsourcing.persistence import Transcoding


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class EnumAsValue(Transcoding):
    """Stores a member of one enum class as its value. The JSON transcoder
    looks transcodings up by exact type, so each enum gets its own."""

    def __init__(self, enum_class: type[Enum]) -> None:
        self.type = enum_class
        self.name = enum_class.__name__

    def encode(self, obj: Enum) -> str:
        return obj.value

    def decode(self, data: str) -> Enum:
        return self.type(data)


class DataclassAsDict(Transcoding):
    """Stores a dataclass of a snapshot's state (Draft, Edition) as its fields;
    the transcoder encodes the dates and lists inside them in turn."""

    def __init__(self, cls: type) -> None:
        self.type = cls
        self.name = cls.__name__

    def encode(self, obj: object) -> dict[str, object]:
        return dict(vars(obj))

    def decode(self, data: dict[str, object]) -> object:
        return self.type(**data)
