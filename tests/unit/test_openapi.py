"""The OpenAPI document as generated clients read it (api/openapi.py): every
operation named, summarised, described and tagged; the names pinned (a
generated client's functions are named after them); every answer with its
X-Request-ID; every 4xx a route can answer declared; nothing nested left
untyped; examples that hold to their schemas. Made without a store."""

from __future__ import annotations

from importlib import metadata
from typing import Any

import pytest
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate

from api.openapi import EVERY_OPERATION_PROBLEMS

# operationId -> (method, path): a change here breaks every generated client.
PINNED = {
    "listStandards": ("get", "/standards"),
    "draftStandard": ("post", "/standards"),
    "downloadCatalogueSheet": ("get", "/standards.xlsx"),
    "getStandard": ("get", "/standards/{code}"),
    "listEditions": ("get", "/standards/{code}/editions"),
    "getEdition": ("get", "/standards/{code}/editions/{year}"),
    "listEditionReferences": ("get", "/standards/{code}/editions/{year}/references"),
    "listCitingEditions": ("get", "/standards/{code}/referenced-by"),
    "editDraft": ("patch", "/standards/{code}/draft"),
    "submitStandard": ("post", "/standards/{code}/submit"),
    "requestChanges": ("post", "/standards/{code}/request-changes"),
    "approveStandard": ("post", "/standards/{code}/approve"),
    "publishStandard": ("post", "/standards/{code}/publish"),
    "openRevision": ("post", "/standards/{code}/revisions"),
    "withdrawStandard": ("post", "/standards/{code}/withdraw"),
    "cancelWithdrawal": ("post", "/standards/{code}/withdraw/cancel"),
    "reviewStandard": ("post", "/standards/{code}/reviews"),
    "completePaperwork": ("post", "/standards/{code}/editions/{year}/paperwork"),
    "openAmendment": ("post", "/standards/{code}/editions/{year}/amendments"),
    "approveAmendment": ("post", "/standards/{code}/editions/{year}/amendments/{n}/approve"),
    "dropAmendment": ("delete", "/standards/{code}/editions/{year}/amendments/{n}"),
    "attachDraftFile": ("put", "/standards/{code}/draft/files/{name}"),
    "removeDraftFile": ("delete", "/standards/{code}/draft/files/{name}"),
    "downloadDraftFile": ("get", "/standards/{code}/draft/files/{name}"),
    "listEditionFiles": ("get", "/standards/{code}/editions/{year}/files"),
    "downloadEditionFile": ("get", "/standards/{code}/editions/{year}/files/{name}"),
    "compareEditions": ("get", "/standards/{code}/editions/{year}/compare/{other}"),
    "listEvents": ("get", "/events"),
    "listStandardEvents": ("get", "/standards/{code}/events"),
    "listCategories": ("get", "/categories"),
    "parseNumber": ("get", "/numbers/{text}"),
    "getHealth": ("get", "/health"),
    "listDueReviews": ("get", "/reviews/due"),
    "listSubscriptions": ("get", "/subscriptions"),
    "createSubscription": ("post", "/subscriptions"),
    "getSubscription": ("get", "/subscriptions/{subscription_id}"),
    "changeSubscription": ("patch", "/subscriptions/{subscription_id}"),
    "deleteSubscription": ("delete", "/subscriptions/{subscription_id}"),
    "pauseSubscription": ("post", "/subscriptions/{subscription_id}/pause"),
    "resumeSubscription": ("post", "/subscriptions/{subscription_id}/resume"),
    "replaySubscription": ("post", "/subscriptions/{subscription_id}/replay"),
}
# Maps of any values, on purpose: an event's own data differs by its type;
# a problem's messages nest as the fields they name do.
FREE_FORM = {("EventOut", "data"), ("Problem", "errors")}
METHODS = {"get", "post", "put", "patch", "delete"}


class NoStore:
    """The document is made from the routes and schemas, never the store."""


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    from api import create_app

    return create_app(service=NoStore()).test_client().get("/api/v1/openapi.json").get_json()


def operations(doc: dict[str, Any]):
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield method, path.removeprefix("/api/v1"), operation


def test_the_document_is_valid_openapi_and_carries_the_package_version(doc):
    validate(doc)
    assert doc["openapi"] == "3.0.3"
    assert doc["info"]["version"] == metadata.version("jgsw-lifecycle")


def test_every_operation_has_its_pinned_id_a_summary_a_description_and_a_tag(doc):
    found = {}
    tags = {tag["name"] for tag in doc["tags"]}
    for method, path, operation in operations(doc):
        name = operation.get("operationId")
        assert name and name not in found, (method, path, name)  # present and unique
        found[name] = (method, path)
        summary = operation.get("summary", "")
        assert summary.strip() and "\n" not in summary, (name, summary)
        assert operation.get("description", "").strip(), name
        assert operation.get("tags") and set(operation["tags"]) <= tags, name
    assert found == PINNED


def test_every_answer_declares_x_request_id_and_the_header_is_declared_once(doc):
    assert doc["components"]["headers"]["RequestId"]["schema"] == {"type": "string"}
    for method, path, operation in operations(doc):
        for status, response in operation["responses"].items():
            assert response["headers"]["X-Request-ID"] == {"$ref": "#/components/headers/RequestId"}, (
                method, path, status)
        assert {"$ref": "#/components/parameters/RequestId"} in operation["parameters"], (method, path)


def test_every_4xx_a_route_can_answer_is_declared(doc):
    """From what each operation takes: a token (401), roles (403), path
    parameters (404), a query (422), a JSON body (400, 413, 415, 422),
    If-Match (412, 428), Range (416); and what the server answers before any
    route (414, 431) or when the store cannot (503). tests/api/test_openapi_problems.py
    provokes each of them and checks the answer against these."""
    for method, path, operation in operations(doc):
        declared = {int(status) for status in operation["responses"]}
        params = {p.get("name") for p in operation.get("parameters", []) if "name" in p}
        path_params = {p["name"] for p in operation.get("parameters", []) if p.get("in") == "path"}
        path_params |= {seg[1:-1] for seg in path.split("/") if seg.startswith("{")}
        needed = {*EVERY_OPERATION_PROBLEMS, 503}
        if operation.get("security") != []:
            needed |= {401, 422}
        if path_params - {"text"}:
            needed.add(404)  # `/numbers/{text}`: a bad number is a 422 saying why
        body = operation.get("requestBody", {}).get("content", {})
        if "application/json" in body:
            needed |= {400, 413, 415, 422}
        elif body:  # a file's bytes
            needed |= {413, 415, 422}
        if "If-Match" in params:
            needed |= {403, 404, 409, 412, 428}
        if "Range" in params:
            needed.add(416)
        if method != "get" and operation.get("security") != []:
            needed |= {403, 409} if path.startswith("/standards") else {403}
        assert needed <= declared, (operation["operationId"], sorted(needed - declared))
        for status in declared - {200, 201, 204, 206, 304}:
            assert list(operation["responses"][str(status)]["content"]) == ["application/problem+json"]


def walk(schema: Any, where: tuple[str, str], found: list) -> None:
    if isinstance(schema, dict):
        if "anyOf" in schema or "oneOf" in schema:
            found.append((where, "anyOf/oneOf: generators pick the free-form branch"))
        if schema.get("type") == "object" and "properties" not in schema:
            values = schema.get("additionalProperties")
            if not isinstance(values, dict) or not values or not ({"type", "$ref", "allOf"} & set(values)):
                if where not in FREE_FORM:
                    found.append((where, "an object with no properties and untyped values"))
        for key, value in schema.items():
            walk(value, where, found) if key != "example" else None
    elif isinstance(schema, list):
        for value in schema:
            walk(value, where, found)


def test_answers_are_typed_all_the_way_down(doc):
    found: list = []
    for name, schema in doc["components"]["schemas"].items():
        for field, prop in schema.get("properties", {}).items():
            walk(prop, (name, field), found)
    assert not found, found
    edition = doc["components"]["schemas"]["StandardOut"]["properties"]["edition"]
    assert edition == {"allOf": [{"$ref": "#/components/schemas/EditionOut"}], "nullable": True}
    item = doc["components"]["schemas"]["StandardOut"]["properties"]["editions"]["items"]
    assert item == {"$ref": "#/components/schemas/EditionBrief"}


def nullable_as_a_validator_reads_it(schema: Any) -> Any:
    """`{allOf: [X], nullable: true}` is how generators read a nullable
    object in OpenAPI 3.0; openapi-schema-validator applies the allOf to null
    too, so for it, say the same as X or null."""
    if isinstance(schema, dict):
        if schema.get("nullable") and "allOf" in schema and "type" not in schema:
            return {"anyOf": [*nullable_as_a_validator_reads_it(schema["allOf"]), {"enum": [None]}]}
        return {k: nullable_as_a_validator_reads_it(v) for k, v in schema.items()}
    if isinstance(schema, list):
        return [nullable_as_a_validator_reads_it(v) for v in schema]
    return schema


def test_examples_hold_to_their_schemas_and_bodies_have_them(doc):
    components = nullable_as_a_validator_reads_it(doc["components"])
    examples = 0
    for name, schema in doc["components"]["schemas"].items():
        if "example" in schema:
            examples += 1
            validator = OAS30Validator({"$ref": f"#/components/schemas/{name}", "components": components})
            errors = [e.message for e in validator.iter_errors(schema["example"])]
            assert not errors, (name, errors)
    for method, path, operation in operations(doc):
        body = operation.get("requestBody", {}).get("content", {}).get("application/json")
        if body:
            ref = body["schema"]["$ref"].rsplit("/", 1)[1]
            assert "example" in components["schemas"][ref], (operation["operationId"], ref)
    assert examples >= 15


def test_files_are_binary_both_ways_for_generated_clients(doc):
    put_op = doc["paths"]["/api/v1/standards/{code}/draft/files/{name}"]["put"]
    assert put_op["requestBody"]["content"]["application/octet-stream"]["schema"] == {
        "type": "string", "format": "binary"}
    for path in ("/standards/{code}/editions/{year}/files/{name}", "/standards/{code}/draft/files/{name}"):
        answer = doc["paths"][f"/api/v1{path}"]["get"]["responses"]["200"]
        # generators read the first media type they know: bytes, not text/plain's str
        known = [t for t in answer["content"] if t in ("application/octet-stream", "application/json")
                 or t.startswith("text/")]
        assert known[0] == "application/octet-stream", list(answer["content"])
        assert {"ETag", "Repr-Digest", "X-Request-ID"} <= set(answer["headers"])
