"""Helpers for the API tests: drive the workflow through the HTTP client only."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

PREFIX = "/api/v1"
PROBLEM = "application/problem+json"


def assert_problem(resp, status: int) -> dict[str, Any]:
    """An RFC 9457 problem with the given status."""
    assert resp.status_code == status, (resp.status_code, resp.get_data(as_text=True))
    assert resp.mimetype == PROBLEM, resp.headers.get("Content-Type")
    body = resp.get_json(force=True)
    for name in ("type", "title", "status", "detail"):
        assert name in body, (name, body)
    assert body["status"] == status
    assert isinstance(body["detail"], str) and body["detail"]
    return body


class Api:
    """Thin helper over the Flask test client."""

    def __init__(self, client, auth, service) -> None:
        self.client = client
        self.auth = auth
        self.service = service

    @property
    def today(self) -> date:
        return self.service.today()

    def position(self) -> int:
        return self.service.recorder.max_notification_id() or 0

    # --------------------------------------------------------- raw calls
    def get(self, path: str, role: str | None = "auditor", **kw):
        headers = self.auth(role) if role else {}
        return self.client.get(PREFIX + path, headers=headers, **kw)

    def create(self, role: str = "drafter", **body: Any):
        body.setdefault("category", "05")
        body.setdefault("title", "后勤服务管理标准 测试工作指南")
        return self.client.post(PREFIX + "/standards", json=body, headers=self.auth(role))

    def etag(self, code: str) -> str:
        resp = self.get(f"/standards/{code}")
        assert resp.status_code == 200, resp.get_data(as_text=True)
        return resp.headers["ETag"]

    def command(self, code: str, action: str, role: str, body: dict | None = None,
                etag: str | None = "fresh", method: str = "POST"):
        """Run a command; etag "fresh" reads it first, None sends no If-Match."""
        if etag == "fresh":
            etag = self.etag(code)
        headers = self.auth(role)
        if etag is not None:
            headers["If-Match"] = etag
        return self.client.open(PREFIX + f"/standards/{code}/{action}", method=method,
                                json=body if body is not None else {}, headers=headers)

    def ok(self, code: str, action: str, role: str, body: dict | None = None,
           method: str = "POST") -> dict[str, Any]:
        resp = self.command(code, action, role, body, method=method)
        assert resp.status_code == 200, resp.get_data(as_text=True)
        assert resp.headers["ETag"] == f'"{resp.get_json()["version"]}"'
        return resp.get_json()

    # --------------------------------------------------------- workflow steps
    def draft(self, **body: Any) -> str:
        resp = self.create(**body)
        assert resp.status_code == 201, resp.get_data(as_text=True)
        return resp.get_json()["code"]

    def submitted(self, **body: Any) -> str:
        code = self.draft(**body)
        self.ok(code, "submit", "drafter")
        return code

    def approved(self, approved_on: date | None = None, **body: Any) -> str:
        code = self.submitted(**body)
        self.ok(code, "approve", "approver",
                {"approved_on": approved_on.isoformat()} if approved_on else {})
        return code

    def publish(self, code: str, issued_on: date, effective_on: date, trial: bool = False):
        return self.ok(code, "publish", "publisher", {
            "issued_on": issued_on.isoformat(), "effective_on": effective_on.isoformat(),
            "trial": trial})

    def issued(self, approved_on: date | None = None, issued_on: date | None = None,
               effective_on: date | None = None, trial: bool = False, **body: Any) -> tuple[str, str]:
        """draft -> submit -> approve -> publish; returns (code, latest ETag)."""
        code = self.approved(approved_on, **body)
        issued_on = issued_on or approved_on or self.today
        view = self.publish(code, issued_on, effective_on or issued_on, trial)
        return code, f'"{view["version"]}"'

    def revise(self, code: str, approved_on: date | None, issued_on: date | None,
               effective_on: date | None, title: str | None = None) -> dict[str, Any]:
        """Open a revision, submit, approve and (if issued_on) publish it."""
        body = {"reason": "修订：内容更新"}
        if title:
            body["title"] = title
        self.ok(code, "revisions", "drafter", body)
        self.ok(code, "submit", "drafter")
        view = self.ok(code, "approve", "approver",
                       {"approved_on": approved_on.isoformat()} if approved_on else {})
        if issued_on is not None:
            view = self.publish(code, issued_on, effective_on or issued_on)
        return view



def days(n: int) -> timedelta:
    return timedelta(days=n)
