"""Issue 10, findings 1, 10 and 15, through a real `lifecycle serve`: what
gunicorn refuses before Flask sees the request (a request line or headers
over its limits) and what only gunicorn sends (chunked bodies) are
problem+json answers too."""

from __future__ import annotations

import json

import pytest
import requests

from tests.e2e.conftest import Server, bearer

pytestmark = pytest.mark.e2e

PROBLEM = "application/problem+json"


def problem(resp: requests.Response, status: int) -> dict:
    assert resp.status_code == status, (resp.status_code, resp.headers, resp.text[:300])
    assert resp.headers["Content-Type"] == PROBLEM, resp.text[:300]
    body = resp.json()
    assert body["status"] == status and body["detail"], body
    return body


def position(srv: Server) -> int:
    return requests.get(f"{srv.url}/health", timeout=10).json()["position"]


def test_a_request_line_or_headers_over_gunicorns_limits_are_414_and_431_problems(server):
    long_query = "q=" + "a" * 9000  # the request line is over 8,190 bytes
    body = problem(requests.get(f"{server.url}/standards?{long_query}",
                                headers=bearer(server, "auditor"), timeout=10), 414)
    assert "8190" in body["detail"]

    many = {f"X-Extra-{i}": "1" for i in range(120)}
    body = problem(requests.get(f"{server.url}/standards", headers=bearer(server, "auditor", **many),
                                timeout=10), 431)
    assert "100" in body["detail"]

    large = {"X-Large": "a" * 9000}
    body = problem(requests.get(f"{server.url}/standards", headers=bearer(server, "auditor", **large),
                                timeout=10), 431)
    assert "8190" in body["detail"]
    # the server still answers
    assert requests.get(f"{server.url}/standards", headers=bearer(server, "auditor"),
                        timeout=10).status_code == 200


def _chunks(data: bytes, size: int = 4096):
    for i in range(0, len(data), size):
        yield data[i:i + size]


def test_a_chunked_body_over_64_kib_is_413_and_records_nothing(server):
    before = position(server)
    big = json.dumps({"category": "05", "title": "标题", "summary": "a" * (70 * 1024)}).encode()
    resp = requests.post(f"{server.url}/standards", data=_chunks(big), timeout=30,
                         headers=bearer(server, "drafter", **{"Content-Type": "application/json"}))
    problem(resp, 413)
    assert position(server) == before
    small = json.dumps({"category": "05", "title": "分块发送的标题"}).encode()
    resp = requests.post(f"{server.url}/standards", data=_chunks(small, 7), timeout=30,
                         headers=bearer(server, "drafter", **{"Content-Type": "application/json"}))
    assert resp.status_code == 201, resp.text


def test_double_slashes_and_form_bodies_get_problems_not_html(server):
    for path in ("//standards", "/standards//JGSW05001"):
        resp = requests.get(f"{server.url}{path}", allow_redirects=False, timeout=10)
        problem(resp, 404)
        assert "Location" not in resp.headers
    # curl -X POST …/submit -H 'If-Match: "1"' -d '{…}' sends a form
    code = requests.post(f"{server.url}/standards", json={"category": "06", "title": "表单测试"},
                         headers=bearer(server, "drafter"), timeout=10).json()["code"]
    before = position(server)
    resp = requests.post(f"{server.url}/standards/{code}/submit", data='{"reason": "送审"}',
                         headers=bearer(server, "drafter", **{
                             "If-Match": '"1"', "Content-Type": "application/x-www-form-urlencoded"}),
                         timeout=10)
    problem(resp, 415)
    assert position(server) == before
