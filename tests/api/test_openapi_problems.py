"""Every status an operation answers is one its OpenAPI operation declares.

For each operation of the document, on both stores: no token, an unknown
query parameter, a path naming nothing, the wrong role, and for commands no
If-Match, a stale one, a body as text, malformed JSON, an unknown field and
a body over the limit. A generated client raises on a status the document
does not declare (raise_on_unexpected_status), so each answer here must be
declared on its operation, and none may be a 5xx."""

from __future__ import annotations

import re
from typing import Any
from uuid import uuid4

from lifecycle.commands import REGISTRY
from tests.api.helpers import PREFIX

FILLS = {"code": "JGSW05001", "year": "2018", "other": "2018", "n": "1", "name": "标准正文.pdf",
         "text": "JGSW05001", "subscription_id": str(uuid4())}
NOTHING = {"code": "JGSW05999", "year": "1999", "other": "1999", "n": "9", "name": "无此文件.pdf",
           "text": "JGSW0５9", "subscription_id": str(uuid4())}
WORDS = {"draftStandard": "draft", "attachDraftFile": "attach_file", "removeDraftFile": "remove_file",
         "createSubscription": "subscribe"}


def fill(path: str, values: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path)


def sender(operation_id: str) -> str:
    """A user whose roles may send this command (tests/conftest.py ROLE_USERS)."""
    name = WORDS.get(operation_id) or re.sub(r"(?<!^)([A-Z])", r"_\1", operation_id).lower()
    spec = REGISTRY.get(name) or REGISTRY.get(name.rsplit("_", 1)[0])
    assert spec is not None, operation_id
    return sorted(role.value for role in spec.roles)[0]


def test_every_answer_to_a_bad_request_is_declared(client, auth, seeded):
    doc = client.get(f"{PREFIX}/openapi.json").get_json()
    answered: list[tuple[str, str, int]] = []
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            name = operation["operationId"]
            declared = {int(s) for s in operation["responses"]}
            command = method != "get"
            who = sender(name) if command else "auditor"
            params = {p.get("name") for p in operation.get("parameters", [])}
            json_body = "application/json" in operation.get("requestBody", {}).get("content", {})
            url = fill(path, FILLS)

            def ask(how: str, url: str = url, headers: dict[str, str] | None = None, **kw: Any) -> None:
                resp = client.open(url, method=method.upper(), headers=headers or {}, **kw)
                answered.append((name, how, resp.status_code))

            ask("no token")
            ask("unknown query", f"{url}?zzz=1", auth(who))
            ask("path naming nothing", fill(path, NOTHING), auth(who))
            if command:
                ask("wrong role", headers=auth("auditor", **{"If-Match": '"1"'}), json={})
                ask("no If-Match", headers=auth(who), json={})
                ask("stale If-Match", headers=auth(who, **{"If-Match": '"999"'}), json={})
            if json_body or "If-Match" in params:
                tag = {"If-Match": '"999"'} if "If-Match" in params else {}
                ask("text body", headers=auth(who, **tag, **{"Content-Type": "text/plain"}), data="x")
                ask("malformed JSON", headers=auth(who, **tag, **{"Content-Type": "application/json"}),
                    data="{")
                ask("unknown field", headers=auth(who, **tag), json={"zzz": 1})
                ask("too large", headers=auth(who, **tag), json={"reason": "字" * 70_000})
            for how, status in [(h, s) for n, h, s in answered if n == name]:
                assert status < 500, (name, how, status)
                assert status < 400 or status in declared, (name, how, status, sorted(declared))
    statuses = {status for _, _, status in answered}
    assert {400, 401, 403, 404, 412, 413, 415, 422, 428} <= statuses  # the probes reached each kind
