"""The deliverer: one more reader of the log. Each subscription has its own
position (projections/deliveries.py); a turn reads the events after it,
keeps the standards' events its filters want, and POSTs each as a signed
CloudEvent, strictly in log order: a 2xx moves the position (in the same
write, so a restart resumes exactly there), anything else schedules a retry
with exponential backoff and jitter, and a subscription that has failed for
LIFECYCLE_WEBHOOK_RETRY_HOURS is paused, saying why, by a recorded command.

Hosts share the work through leases: a host holds a subscription while it
renews the lease (every REFRESH seconds); a host that dies lets it lapse
after LEASE seconds, and another takes it over. Every write of a turn is
fenced by the holder and the position it started from, so a host that lost
its lease, or a position rewound by a replay, ends the turn."""

from __future__ import annotations

import logging
import os
import random
import secrets
import socket
import threading
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import requests
from requests.adapters import HTTPAdapter
from standardwebhooks import Webhook

from lifecycle import targets
from lifecycle.commands import PauseSubscription
from lifecycle.errors import DomainError, InvalidInput
from lifecycle.subscriptions import cloudevents_type
from projections.deliveries import Deliveries, Filters
from projections.documents import dumps

log = logging.getLogger("lifecycle.deliverer")

POLL = 0.05          # seconds between looks at the log's head
REFRESH = 1.0        # seconds between renewing leases and reading which subscriptions are due
LEASE = 10.0         # a host that stops renewing hands its subscriptions over after this
BATCH = 200          # events read at a time
TURN = 2.0           # seconds a turn may go on before other subscriptions get the thread
FIRST_RETRY = 1.0    # seconds before the first retry; each retry waits twice as long …
LONGEST_WAIT = 1800.0  # … up to half an hour
ACTOR = "deliverer"  # who pauses a subscription that kept failing
SOURCE = "/api/v1/standards"  # CloudEvents `source`: `subject` names a standard in it
USER_AGENT = "jgsw-lifecycle-webhooks/1"
MAX_ANSWER = 64 * 1024  # bytes of a receiver's answer read at most
KEPT_ENTRIES = 5000  # recent events, decoded once for every subscription


@dataclass(frozen=True)
class Outcome:
    status: int | None   # the HTTP status, if an answer came
    error: str | None    # None: delivered (2xx)


def cloud_event(entry: dict[str, Any]) -> dict[str, Any]:
    """A standard's audit-log entry as a CloudEvents 1.0 document."""
    return {"specversion": "1.0", "id": str(entry["position"]), "source": SOURCE,
            "type": cloudevents_type(entry["type"]), "subject": entry["code"], "time": entry["recorded_at"],
            "datacontenttype": "application/json", "data": entry}


def signed_headers(webhook: Webhook, message_id: str, body: str) -> dict[str, str]:
    """Standard Webhooks: HMAC-SHA256 over "id.timestamp.body"."""
    now = datetime.now(UTC)
    return {"webhook-id": message_id, "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": webhook.sign(message_id, now, body)}


def wanted(entry: dict[str, Any], filters: Filters) -> bool:
    """A standard's event that the subscription's filters let through."""
    code = entry["code"]
    if code is None:  # users' and subscriptions' events are never delivered
        return False
    if filters.types is not None and cloudevents_type(entry["type"]) not in filters.types:
        return False
    return filters.categories is None or code[4:6] in filters.categories  # JGSW|05|001


def backoff(attempts: int) -> float:
    """Seconds before retry number `attempts`: doubling, with "equal jitter"
    (half fixed, half random) so that receivers coming back are not hit by
    every subscriber at the same instant."""
    delay = min(LONGEST_WAIT, FIRST_RETRY * 2 ** max(0, attempts - 1))
    return delay / 2 + random.uniform(0, delay / 2)


class PinnedAdapter(HTTPAdapter):
    """One keep-alive connection, to the address that was checked: the URL
    names the address, while TLS checks the certificate against the host name
    (and sends it as SNI). No retries: the deliverer decides those."""

    def __init__(self, target: targets.Target) -> None:
        self.pin = ({"server_hostname": target.host, "assert_hostname": target.host}
                    if target.scheme == "https" else {})
        super().__init__(pool_connections=1, pool_maxsize=1, max_retries=0)

    def init_poolmanager(self, connections: int, maxsize: int, block: bool = False, **kwargs: Any) -> None:
        super().init_poolmanager(connections, maxsize, block, **kwargs, **self.pin)


class Sender:
    """POSTs to targets; a session (one connection) per subscription and target."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.sessions: dict[tuple[str, targets.Target], requests.Session] = {}
        self.lock = threading.Lock()  # worker threads open sessions while the main one closes others

    def session(self, sid: str, target: targets.Target) -> requests.Session:
        key = (sid, target)
        with self.lock:
            found = self.sessions.get(key)
        if found is None:
            self.close(sid)  # a new URL or address: the old connection goes
            found = requests.Session()
            found.trust_env = False  # no proxy or .netrc from the environment: the address is pinned
            adapter = PinnedAdapter(target)
            found.mount("http://", adapter)
            found.mount("https://", adapter)
            with self.lock:
                self.sessions[key] = found
        return found

    def close(self, sid: str | None = None) -> None:
        with self.lock:
            closing = [self.sessions.pop(k) for k in list(self.sessions) if sid is None or k[0] == sid]
        for session in closing:
            session.close()

    def post(self, sid: str, target: targets.Target, body: bytes, headers: dict[str, str]) -> Outcome:
        headers = {**headers, "Host": target.host_header, "User-Agent": USER_AGENT,
                   "Content-Type": "application/cloudevents+json; charset=utf-8"}
        try:
            with self.session(sid, target).post(target.pinned_url, data=body, headers=headers,
                                                timeout=self.timeout, allow_redirects=False,
                                                stream=True) as answer:
                text = _read_some(answer)
        except requests.Timeout:
            self.close(sid)
            return Outcome(None, f"no answer within {self.timeout:g} s")
        except requests.RequestException as e:
            self.close(sid)
            return Outcome(None, f"could not deliver: {type(e).__name__}: {_reason(e)}")
        status = answer.status_code
        if 200 <= status < 300:
            return Outcome(status, None)
        if 300 <= status < 400:
            return Outcome(status, f"HTTP {status}: redirects are not followed "
                                   f"(Location: {answer.headers.get('Location', '')[:200]})")
        return Outcome(status, f"HTTP {status}: {text[:200]}".strip())


def _read_some(answer: requests.Response) -> str:
    """The start of the answer's body; the rest is drained only if small, so a
    huge answer costs the connection, not memory."""
    data = b""
    for chunk in answer.iter_content(8192):
        data += chunk
        if len(data) > MAX_ANSWER:
            break
    return data.decode("utf-8", "replace")


def _reason(error: Exception) -> str:
    """The innermost cause, without the URL (it names the pinned address)."""
    while error.args and isinstance(error.args[0], Exception):
        error = error.args[0]
    return str(getattr(error, "reason", None) or error)[:200]


class Deliverer:
    """Runs the turns of the subscriptions this host holds, one thread per
    subscription at a time (so each stays in order), at most `threads` at once."""

    def __init__(self, register: Any, host: str | None = None, threads: int = 8,
                 lease: float = LEASE) -> None:
        self.register = register
        self.lease = lease
        self.settings = register.settings
        self.rows = Deliveries(register.recorder.datastore, register.recorder.writer)
        self.host = host or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self.sender = Sender(self.settings.webhook_timeout)
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix="deliver")
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.busy: set[str] = set()
        self.due: dict[str, float] = {}        # held subscription -> when its next attempt is due
        self.position: dict[str, int] = {}     # held subscription -> its position as last seen
        self.signers: dict[str, Webhook] = {}
        self.made: OrderedDict[int, dict[str, Any]] = OrderedDict()  # position -> audit entry
        self.next_refresh = 0.0
        self.held_any = False

    # ------------------------------------------------------------- the loop
    def run(self, parent: int | None = None) -> None:
        """Deliver until stop() (or until the process `parent` is gone)."""
        log.info("deliverer %s started", self.host)
        try:
            while not self.stopping.is_set():
                if parent is not None and os.getppid() != parent:
                    log.info("the server that started this deliverer is gone: stopping")
                    break
                try:
                    self.step()
                except Exception:
                    log.exception("deliverer step failed; trying again")
                    self.stopping.wait(REFRESH)
                self.stopping.wait(POLL)
        finally:
            self.close()

    def stop(self) -> None:
        self.stopping.set()

    def close(self) -> None:
        """Finish the POSTs in flight, then hand every lease over at once."""
        self.stopping.set()
        self.pool.shutdown(wait=True)
        try:
            if self.held_any:  # a deliverer that never held a subscription writes nothing
                self.rows.release(self.host)
        except Exception:
            log.exception("could not release the leases (they lapse in %s s)", self.lease)
        self.sender.close()
        log.info("deliverer %s stopped", self.host)

    def step(self) -> None:
        """Renew leases now and then; start a turn for each held subscription
        that is behind the log's head and due."""
        now = time.monotonic()
        if now >= self.next_refresh:
            self.refresh(now)
        if not self.due:
            return  # nothing held: no need to look at the log
        head = self.register.log_position()
        with self.lock:
            ready = [sid for sid, due in self.due.items() if sid not in self.busy and due <= now
                     and self.position.get(sid, -1) < head]
            self.busy.update(ready)
        for sid in ready:
            self.pool.submit(self._turn, sid)

    def refresh(self, now: float) -> None:
        held = self.rows.claim(self.host, self.lease)
        self.held_any = self.held_any or bool(held)
        with self.lock:
            for sid in set(self.due) - {sid for sid, _, _ in held} - self.busy:
                self.sender.close(sid)  # no longer ours (paused, deleted, taken over)
                self.signers.pop(sid, None)
            self.due = {sid: now + wait for sid, _, wait in held}
            for sid, position, _ in held:
                if sid not in self.busy:
                    self.position[sid] = position
        self.next_refresh = now + REFRESH

    def _turn(self, sid: str) -> None:
        try:
            self.turn(sid)
        except Exception:
            log.exception("subscription %s: the turn failed; it is tried again", sid)
        finally:
            with self.lock:
                self.busy.discard(sid)

    # ------------------------------------------------------------- a turn
    def turn(self, sid: str) -> None:
        """Deliver what the subscription is due, batch after batch, until it
        has caught up, an attempt fails, the turn is lost, or it has had TURN
        seconds (more subscriptions than threads then take turns)."""
        ends = time.monotonic() + TURN
        while not self.stopping.is_set() and time.monotonic() < ends:
            row = self.rows.turn(sid, self.host)
            if row is None:
                return
            if row.wait > 0:
                self._schedule(sid, row.position, row.wait)
                return
            batch = self.register.recorder.select_notifications(start=row.position + 1, limit=BATCH)
            # The filters are read after the events: a change recorded before
            # any of them is seen, so an excluded event is never sent.
            filters = self.rows.filters(sid)
            if not batch or filters is None or not filters.active:
                self._schedule(sid, row.position, 0)
                return
            if not self.deliver_batch(sid, row.position, row.attempts, row.failing_for, batch, filters, ends):
                return

    def deliver_batch(self, sid: str, position: int, attempts: int, failing_for: float | None,
                      batch: list[Any], filters: Filters, ends: float) -> bool:
        """True if the whole batch was passed (delivered or skipped) before
        the turn `ends`."""
        for entry in self.entries(batch):
            if not wanted(entry, filters):
                continue
            if self.stopping.is_set() or time.monotonic() > ends:
                self._schedule(sid, position, 0)  # the rest in a later turn
                return False
            outcome, what = self.attempt(sid, filters.url, entry)
            if outcome.error is not None:
                self.failed(sid, position, attempts, failing_for, outcome, what)
                return False
            if not self.rows.advance(sid, self.host, position, entry["position"], self.lease, outcome.status):
                return False  # rewound by a replay, or no longer ours
            position, attempts, failing_for = entry["position"], 0, None
        last = batch[-1].id
        if position < last and not self.rows.advance(sid, self.host, position, last, self.lease):
            return False
        self._schedule(sid, last, 0)
        return True

    def entries(self, batch: list[Any]) -> list[dict[str, Any]]:
        """The batch's audit-log entries; an event that several subscriptions
        want is decoded and looked up once."""
        with self.lock:
            found = {n.id: self.made.get(n.id) for n in batch}
        missing = [n for n in batch if found[n.id] is None]
        if missing:
            made = dict(zip((n.id for n in missing), self.register.audit.entries(missing), strict=True))
            found.update(made)
            with self.lock:
                self.made.update(made)
                while len(self.made) > KEPT_ENTRIES:
                    self.made.popitem(last=False)
        return [e for e in found.values() if e is not None]

    def attempt(self, sid: str, url: str, entry: dict[str, Any]) -> tuple[Outcome, str]:
        """One POST of one event, and what it was (for the log); the target is
        checked (after DNS) each time."""
        what = f"event {entry['position']}"
        try:
            target = targets.check(url, self.settings.webhook_allow)
        except InvalidInput as e:
            return Outcome(None, f"refused target: {e.message}"), what
        body = dumps(cloud_event(entry))
        headers = signed_headers(self.signer(sid), f"{entry['position']}-{sid}", body)
        return self.sender.post(sid, target, body.encode("utf-8"), headers), f"{what} to {target.host}"

    def signer(self, sid: str) -> Webhook:
        found = self.signers.get(sid)
        if found is None:
            secret = self.rows.secret(sid)
            if secret is None:
                raise LookupError(f"subscription {sid} has no signing secret")
            found = self.signers[sid] = Webhook(secret)
        return found

    def failed(self, sid: str, position: int, attempts: int, failing_for: float | None,
               outcome: Outcome, what: str) -> None:
        """Schedule the next attempt; pause the subscription once the retries
        have lasted LIFECYCLE_WEBHOOK_RETRY_HOURS."""
        window = self.settings.webhook_retry_hours * 3600
        delay = min(backoff(attempts + 1), max(0.0, window - (failing_for or 0.0)))
        error = outcome.error or ""
        row = self.rows.failed(sid, self.host, position, delay, error, outcome.status)
        if row is None:
            return
        log.warning("subscription %s: %s: %s; attempt %s, next in %.1f s",
                    sid, what, error, row.attempts, delay)
        if row.failing_for is not None and row.failing_for >= window:
            self.pause(sid, error)
            delay = REFRESH  # it leaves this host's list at the next refresh
        self._schedule(sid, position, delay)

    def pause(self, sid: str, error: str) -> None:
        hours = f"{self.settings.webhook_retry_hours:g}"
        reason = f"投递失败已持续 {hours} 小时，自动暂停 (no 2xx for {hours} h); 最后错误 last error: {error}"
        try:
            self.register.handle(PauseSubscription(subscription_id=UUID(sid), actor=ACTOR,
                                                   reason=reason[:500]))
        except DomainError as e:  # paused or deleted a moment ago by someone else
            log.info("subscription %s: not paused: %s", sid, e.message)
            return
        log.warning("subscription %s paused: %s", sid, reason)

    def _schedule(self, sid: str, position: int, wait: float) -> None:
        with self.lock:
            self.position[sid] = position
            if sid in self.due:
                self.due[sid] = time.monotonic() + wait

