"""How dates and enums are stored in events (eventsourcing's JSON transcoder
knows neither)."""

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
