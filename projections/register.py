"""The register: the service layer with its read models, added by
subclassing the application (as eventsourcing's own examples do). The
recorder that writes the projections with the events is chosen by topic in
the environment (api/bootstrap.py)."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Mapping
from typing import Any

from lifecycle.application import StandardsApp
from lifecycle.config import Settings
from lifecycle.domain import standard_id
from lifecycle.numbering import StandardCode
from projections.audit import AuditLog
from projections.contents import Contents
from projections.projector import Projector
from projections.queries import Reads
from projections.rebuild import rebuild
from projections.recorder import ProjectingMixin
from projections.schema import PROJECTION_VERSION
from projections.signing import HeadSigner
from projections.subscriptions import SubscriptionReads

log = logging.getLogger(__name__)


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
        self.writer = recorder.writer
        self.projection = Projector(settings.zone, settings.review_years)
        self.contents = Contents(recorder.datastore, recorder.writer)
        self.audit = AuditLog(self)
        self.signer = HeadSigner(settings.signing_key)
        self._session_key: str | None = None
        self.subscriptions = SubscriptionReads(recorder.datastore, recorder.writer)

    def upgrade_projections(self, say: Callable[[str], None] = log.warning) -> None:
        """Projections written by an older version are rebuilt from the log
        (the log is the truth; the rows are only what it makes)."""
        version = self.reads.projection_version()
        if version == PROJECTION_VERSION:
            return
        if self.log_position():
            say(f"the projections are version {version or 1}, this register writes version "
                f"{PROJECTION_VERSION}: rebuilding them from the log")
            rebuild(self)
        else:
            with self.reads.datastore.transaction(commit=True) as c:
                self.writer.write(c, {"projection_meta": [("version", str(PROJECTION_VERSION))]})

    def log_position(self) -> int:
        """The last position of the event log (0 when empty)."""
        return self.recorder.max_notification_id() or 0

    def session_key(self) -> str:
        """The key that signs session cookies: LIFECYCLE_SECRET_KEY, else the
        one generated into the store when first needed, so every host shares it."""
        if self._session_key is None:
            self._session_key = self.settings.secret_key or \
                self.reads.service_key("session", secrets.token_urlsafe(32))
        return self._session_key

    def events_of(self, code: StandardCode) -> list[dict[str, Any]]:
        return self.audit.of_aggregate(standard_id(code))
