"""The register: the service layer with its read models, added by
subclassing the application (as eventsourcing's own examples do). The
recorder that writes the projections with the events is chosen by topic in
the environment (api/bootstrap.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lifecycle.application import StandardsApp
from lifecycle.config import Settings
from lifecycle.domain import standard_id
from lifecycle.numbering import StandardCode
from projections.audit import AuditLog
from projections.contents import Contents
from projections.projector import Projector
from projections.queries import Reads
from projections.recorder import ProjectingMixin


class Register(StandardsApp):
    reads: Reads
    projection: Projector

    def __init__(self, settings: Settings, env: Mapping[str, str]) -> None:
        super().__init__(settings, env)
        recorder = self.recorder
        if not isinstance(recorder, ProjectingMixin):
            raise TypeError(f"{type(recorder).__name__} does not write projections: "
                            "build the register with api.bootstrap")
        self.reads = Reads(recorder.datastore, recorder.writer)
        self.contents = Contents(recorder.datastore, recorder.writer)
        self.projection = Projector(settings.zone)
        self.audit = AuditLog(self)

    def log_position(self) -> int:
        """The last position of the event log (0 when empty)."""
        return self.recorder.max_notification_id() or 0

    def events_of(self, code: StandardCode) -> list[dict[str, Any]]:
        return self.audit.of_aggregate(standard_id(code))
