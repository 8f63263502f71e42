"""A real webhook receiver for the tests: an HTTP/1.1 server (keep-alive) on
127.0.0.1 in a thread. It answers the first requests as `script` says
("refuse": 503, "hang": answer only after `hang` seconds, "redirect": 302),
then accepts every request (204). Every request is kept in arrival order."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook


@dataclass
class Arrival:
    at: float                # time.time() on arrival
    action: str              # refuse | hang | redirect | accept
    headers: dict[str, str]
    body: bytes
    connection: tuple[str, int] = ("", 0)  # the client's address and port

    @property
    def event(self) -> dict[str, Any]:
        return json.loads(self.body)

    @property
    def position(self) -> int:
        return int(self.event["id"])


@dataclass
class Receiver:
    script: list[str] = field(default_factory=list)
    hang: float = 3.0
    arrivals: list[Arrival] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.lock:
                    action = receiver.script.pop(0) if receiver.script else "accept"
                    receiver.arrivals.append(Arrival(time.time(), action, dict(self.headers.items()), body,
                                                     self.client_address))
                if action == "hang":
                    time.sleep(receiver.hang)
                status = {"refuse": 503, "redirect": 302}.get(action, 204)
                payload = b"busy, try later" if action == "refuse" else b""
                try:
                    self.send_response(status)
                    if action == "redirect":
                        self.send_header("Location", "http://127.0.0.1:1/elsewhere")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the deliverer gave up waiting (a "hang")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/jgsw?team=workflow"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def accepted(self) -> list[Arrival]:
        """Requests answered with a 2xx (or meant to be: a hung one answers late), in arrival order."""
        with self.lock:
            return [a for a in self.arrivals if a.action in ("accept", "hang")]

    def positions(self) -> list[int]:
        return [a.position for a in self.accepted()]

    def wait_for(self, positions: set[int], timeout: float = 30) -> list[int]:
        """Wait until every position in `positions` was accepted; the accepted positions."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.positions()
            if positions <= set(got):
                return got
            time.sleep(0.05)
        raise AssertionError(f"not delivered within {timeout} s: {sorted(positions - set(self.positions()))}; "
                             f"got {self.positions()}")

    def verify_all(self, secret: str) -> None:
        """Every request carries a Standard Webhooks signature that verifies."""
        webhook = Webhook(secret)
        for arrival in list(self.arrivals):
            assert webhook.verify(arrival.body, arrival.headers)["id"] == str(arrival.position)
