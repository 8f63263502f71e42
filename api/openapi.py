"""The OpenAPI document as a generated client reads it: the one place that
names every operation, declares the headers every answer carries, types
nullable objects the way generators follow, and holds the Chinese examples.

flask-smorest builds the document from the routes and the marshmallow
schemas; `ClientPlugin` (an apispec plugin) adds what they do not say:

- `operationId`: a command's comes from its name in the registry
  (`approve` -> `approveStandard`, `open_amendment` -> `openAmendment`),
  through the route tables (`COMMAND_ROUTES` of api/standards.py,
  api/files.py, api/subscriptions.py); a read's from `READS` below. Generated
  clients name their functions after it (`approve_standard`), so it must
  never change: tests/unit/test_openapi.py pins the list.
- `X-Request-ID` on every answer (`RESPONSE_HEADERS`), and as an optional
  request header (`REQUEST_HEADERS`); the problems gunicorn answers before
  any route (414, 431) on every operation.
- a summary of one line and a description for every operation (a command's
  description is its registry entry: label, roles, stages, event).
- `example` on the schemas of bodies and answers (`EXAMPLES`).

`NullableRefConverter` writes a nullable nested object as
`allOf: [{$ref}]` with `nullable: true` (OpenAPI 3.0.3), not apispec's
`anyOf: [{type: object, nullable: true}, {$ref}]`, whose free-form branch
generators pick (so `standard.edition` had no typed `number`)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from apispec import BasePlugin
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.ext.marshmallow.openapi import OpenAPIConverter

from api.problems import ERROR_DESCRIPTIONS, PROBLEM
from lifecycle import commands


# ------------------------------------------------------------------ nullable objects
class NullableRefConverter(OpenAPIConverter):
    """apispec's converter, except for a nullable nested schema (above)."""

    def field2nullable(self, field: ma.fields.Field, ret: dict[str, Any]) -> dict[str, Any]:
        if field.allow_none and self.openapi_version.major == 3 and self.openapi_version.minor == 0:
            if "$ref" in ret:
                return {"allOf": [{"$ref": ret.pop("$ref")}], "nullable": True}
            if "allOf" in ret:
                return {"nullable": True}
        return super().field2nullable(field, ret)


class NullableRefPlugin(MarshmallowPlugin):
    Converter = NullableRefConverter


# ------------------------------------------------------------------ operation ids
# Reads (and the routes that send no command): endpoint -> operationId.
READS: dict[str, str] = {
    "standards.catalogue": "listStandards",
    "standards.catalogue_sheet": "downloadCatalogueSheet",
    "standards.one": "getStandard",
    "standards.editions": "listEditions",
    "standards.edition": "getEdition",
    "standards.edition_references": "listEditionReferences",
    "standards.referenced_by": "listCitingEditions",
    "files.draft_file": "downloadDraftFile",
    "files.edition_files": "listEditionFiles",
    "files.edition_file": "downloadEditionFile",
    "files.compare": "compareEditions",
    "audit.events": "listEvents",
    "audit.standard_events": "listStandardEvents",
    "meta.categories": "listCategories",
    "meta.parse_number": "parseNumber",
    "meta.health": "getHealth",
    "reviews.due": "listDueReviews",
    "subscriptions.listing": "listSubscriptions",
    "subscriptions.one": "getSubscription",
}
# A command whose registry name is one verb gets the noun of what it acts on
# (`approve` -> `approveStandard`); these say it better than the rule would.
COMMAND_WORDS: dict[str, str] = {
    "attach_file": "attachDraftFile",
    "remove_file": "removeDraftFile",
    "subscribe": "createSubscription",
}


def camel(name: str) -> str:
    first, *rest = name.split("_")
    return first + "".join(word.capitalize() for word in rest)


def command_operation_id(command: type[commands.Command]) -> str:
    """A command route's operationId, from the command's name in the registry."""
    name = command.spec.name
    if name in COMMAND_WORDS:
        return COMMAND_WORDS[name]
    if "_" in name:
        return camel(name)
    noun = "Subscription" if issubclass(command, commands.SubscriptionCommand) else "Standard"
    return name + noun


def command_routes() -> dict[str, tuple[type[commands.Command], ...]]:
    """Every command route's endpoint -> the commands it sends (the route tables)."""
    from api import standards, subscriptions

    return {**standards.COMMAND_ROUTES, **subscriptions.COMMAND_ROUTES}


def operation_id(endpoint: str) -> str:
    sent = command_routes().get(endpoint)
    if sent:
        return command_operation_id(sent[0])  # a variant (emergency approval) shares its route
    if endpoint not in READS:
        raise LookupError(f"{endpoint} has no operationId: add it to api.openapi.READS")
    return READS[endpoint]


def command_description(command: type[commands.Command]) -> str:
    """What the registry says of a command, for its operation's description."""
    spec = command.spec
    roles = ", ".join(sorted(role.value for role in spec.roles))
    stages = ", ".join(sorted(stage.value for stage in spec.stages))
    start = f" A standard's stage before it: {stages}." if stages else ""
    signed = f" It is a signature meaning {spec.signature}." if spec.signature else ""
    return f"{spec.label} ({spec.word}). Roles: {roles}.{start} Records `{spec.records}`.{signed}"


# ------------------------------------------------------------------ headers and problems
REQUEST_ID = {"description": "the request's id: the client's X-Request-ID, or a new one; "
                             "logged with the request", "schema": {"type": "string"}}
REQUEST_ID_PARAMETER = {
    "required": False, "schema": {"type": "string", "maxLength": 200},
    "description": "an id of yours for this request: the answer carries it back, and the log names it"}
# Declared once under components (`register_components`), referred to from every operation.
RESPONSE_HEADERS: dict[str, Any] = {"X-Request-ID": {"$ref": "#/components/headers/RequestId"}}
REQUEST_HEADERS: list[str] = ["RequestId"]  # apispec makes a name a $ref to components/parameters
# Answered by gunicorn (api.server.ProblemWorker) before any route is chosen.
EVERY_OPERATION_PROBLEMS = (414, 431)


def problem_response(status: int) -> dict[str, Any]:
    return {"description": ERROR_DESCRIPTIONS[status],
            "content": {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}}


# ------------------------------------------------------------------ examples (schema name -> example)
STANDARD_EXAMPLE: dict[str, Any] = {
    "code": "JGSW05001", "category": "05", "sub_item": "001", "level": "item", "level_label": "分项",
    "title": "后勤服务管理标准 餐饮服务规范", "status": "current", "status_label": "现行",
    "edition": {"number": "JGSW05001—2018", "year": 2018, "title": "后勤服务管理标准 餐饮服务规范",
                "status": "current", "status_label": "现行", "approved_on": "2018-06-01",
                "approved_by": "wang", "issued_on": "2018-06-15", "effective_on": "2018-07-01",
                "trial": False, "withdrawn_on": None, "replaces": None, "replaced_by": None,
                "amendments": [], "files": [{"name": "标准正文.pdf", "media_type": "application/pdf",
                                             "size": 48213, "sha256": "9f2c…"}]},
    "draft": None, "version": 4, "stage": "issued", "amendments_in_force": 0,
    "editions": [{"number": "JGSW05001—2018", "year": 2018, "title": "后勤服务管理标准 餐饮服务规范",
                  "status": "current", "status_label": "现行", "issued_on": "2018-06-15",
                  "effective_on": "2018-07-01", "trial": False}],
    "reviews": [{"reviewed_on": "2023-07-01", "outcome": "confirm", "by": "wang",
                 "reason": "复审确认继续有效"}],
}
EXAMPLES: dict[str, Any] = {
    "DraftCreate": {"category": "05", "title": "后勤服务管理标准 会议服务工作指南", "level": "item",
                    "kind": "工作指南", "owner_department": "机关事务管理局后勤服务处",
                    "drafting_units": ["后勤服务中心"], "references": ["JGSW01001—2018"],
                    "reason": "年度标准制定计划"},
    "DraftEdit": {"title": "后勤服务管理标准 会议服务工作规范", "reason": "按审查意见修改标题"},
    "Reason": {"reason": "材料齐全，提交审查"},
    "ReasonRequired": {"reason": "第5章缺少验收要求，请补充"},
    "Approve": {"approved_on": "2026-03-01", "reason": "经局务会审议通过"},
    "Publish": {"issued_on": "2026-03-10", "effective_on": "2026-04-01", "trial": False,
                "reason": "印发执行"},
    "Revision": {"reason": "复审结论：修订", "title": "后勤服务管理标准 餐饮服务规范"},
    "Withdraw": {"withdrawn_on": "2026-12-31", "reason": "已被JGSW05002代替"},
    "Review": {"reviewed_on": "2026-06-01", "outcome": "confirm", "reason": "复审确认继续有效"},
    "Paperwork": {"completed_on": "2026-12-15", "reason": "补齐审查记录"},
    "AmendmentOpen": {"summary": "更正第3.1条的消毒频次", "changes": "3.1 餐具每餐消毒，每日检查。"},
    "AmendmentApprove": {"approved_on": "2026-12-01", "effective_on": "2027-01-01"},
    "SubscriptionIn": {"url": "https://workflow.example.gov.cn/hooks/jgsw",
                       "types": ["jgsw.standard.submitted", "jgsw.standard.issued"],
                       "categories": ["05"], "description": "审批流程引擎"},
    "SubscriptionChange": {"categories": ["05", "06"], "reason": "增加第06类"},
    "Replay": {"from": 120, "reason": "接收端数据恢复后重新推送"},
    "StandardOut": STANDARD_EXAMPLE,
    "Problem": {"type": "urn:jgsw:problem:precondition-failed", "title": "Precondition Failed",
                "status": 412, "detail": "JGSW05001 is at version 5, not 4: read it again",
                "instance": "/api/v1/standards/JGSW05001/approve", "version": 5},
}


# ------------------------------------------------------------------ the plugin
class ClientPlugin(BasePlugin):
    """Adds to each operation what generated clients need (module docstring)."""

    def schema_helper(self, name: str, definition: dict[str, Any], **kwargs: Any) -> dict[str, Any] | None:
        if name in EXAMPLES:
            return {"example": EXAMPLES[name]}
        return None

    def operation_helper(self, path: str | None = None, operations: dict[str, Any] | None = None,
                         **kwargs: Any) -> None:
        rule = kwargs.get("rule")
        if rule is None or not operations:
            return
        sent = command_routes().get(rule.endpoint)
        for method, operation in operations.items():
            if not isinstance(operation, dict) or method not in {"get", "post", "put", "patch", "delete"}:
                continue
            operation["operationId"] = operation_id(rule.endpoint)
            summary = " ".join(str(operation.get("summary") or "").split())
            if not summary:
                raise LookupError(f"{rule.endpoint} has no docstring: the operation needs a summary")
            operation["summary"] = summary
            if not operation.get("description") and sent:
                operation["description"] = command_description(sent[0])
            operation["parameters"] = [*operation.get("parameters", []), *REQUEST_HEADERS]
            responses = operation.setdefault("responses", {})
            named = {p.get("name") for p in operation["parameters"] if isinstance(p, dict)}
            if {304, "304"} & set(responses) and "If-None-Match" not in named:
                operation["parameters"].append(IF_NONE_MATCH)
            for status in EVERY_OPERATION_PROBLEMS:
                responses.setdefault(str(status), problem_response(status))
            for response in responses.values():
                if isinstance(response, dict):
                    response["headers"] = {**response.get("headers", {}), **RESPONSE_HEADERS}


# An operation that can answer 304 reads it (flask-smorest's own `parameters`
# would replace those its arguments schema declares).
IF_NONE_MATCH = {"in": "header", "name": "If-None-Match", "required": False, "schema": {"type": "string"},
                 "description": "the ETag you hold: 304, with no body, if the answer is unchanged"}


def register_components(spec: Any) -> None:
    """The components the operations refer to; call once, on the Api's spec."""
    spec.components.header("RequestId", REQUEST_ID)
    spec.components.parameter("RequestId", "header", {"name": "X-Request-ID", **REQUEST_ID_PARAMETER})


def spec_kwargs() -> dict[str, Any]:
    """For flask_smorest.Api(spec_kwargs=…)."""
    return {"marshmallow_plugin": NullableRefPlugin(), "extra_plugins": [ClientPlugin()]}
