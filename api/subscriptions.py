"""Subscriptions (webhooks, admins only): each route sends one command of the
registry through the application, or reads the subscriptions. The signing
secret is in the answer to POST /subscriptions and in no other."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

import marshmallow as ma
from flask import Response, request, url_for
from marshmallow import validate

from api import schemas as s
from api.auth import actor, check_access
from api.bootstrap import service
from api.inputs import Blueprint
from api.problems import document
from api.standards import as_json
from lifecycle import commands, numbering
from lifecycle.errors import NotFound
from lifecycle.subscriptions import EVENT_TYPES, Subscription, new_secret

blp = Blueprint("subscriptions", __name__, description="Webhooks: the standards' events pushed to a URL")

# endpoint -> the commands it sends (their roles guard the route), as in api/standards.py.
COMMAND_ROUTES: dict[str, tuple[type[commands.Command], ...]] = {}


@blp.before_request
def guard() -> Response | None:
    sent = COMMAND_ROUTES.get(request.endpoint or "")
    return check_access(sent[0].spec.name if sent else "read_subscriptions")


def documented(*codes: int) -> Callable[[Any], Any]:
    return document(blp, 401, 403, *codes, 503)


# ------------------------------------------------------------------ schemas
Types = ma.fields.List(ma.fields.String(validate=validate.OneOf(EVENT_TYPES)), allow_none=True,
                       validate=validate.Length(min=1, max=len(EVENT_TYPES)),
                       metadata={"description": "CloudEvents types to deliver (null or absent: all), "
                                                "e.g. jgsw.standard.approved"})
Categories = ma.fields.List(
    ma.fields.String(validate=[validate.Length(max=s.SHORT), s.by_numbering_rule(numbering.parse_category)],
                     metadata={"pattern": s.CATEGORY}),
    allow_none=True, validate=validate.Length(min=1, max=6),
    metadata={"description": "categories 01 to 06 to deliver (null or absent: all)"})
URL: dict[str, Any] = {"max_length": 2000, "metadata": {
    "description": "where to POST: https, or http inside a network of LIFECYCLE_WEBHOOK_ALLOW"}}
DESCRIPTION: dict[str, Any] = {"max_length": 500, "allow_none": True}


class SubscriptionFields(s.Strict):
    url = s.Text(**URL)
    types = Types
    categories = Categories
    description = s.Text(**DESCRIPTION)
    reason = s.Text(**s.REASON)


class SubscriptionIn(SubscriptionFields):
    url = s.Text(required=True, **URL)


class SubscriptionChange(SubscriptionFields, s.Changes):
    """What changes (url, filters, description), and why."""


class Replay(s.Strict):
    from_position = ma.fields.Integer(data_key="from", required=True,
                                      validate=validate.Range(min=1, max=s.MAX_POSITION),
                                      metadata={"description": "the first log position to deliver again"})
    reason = s.Text(**s.REASON)


class SubscriptionOut(ma.Schema):
    id = ma.fields.String()
    url = ma.fields.String()
    types = ma.fields.List(ma.fields.String(), allow_none=True)
    categories = ma.fields.List(ma.fields.String(), allow_none=True)
    description = ma.fields.String(allow_none=True)
    state = ma.fields.String(validate=validate.OneOf(("active", "paused")))
    state_reason = ma.fields.String(allow_none=True, metadata={"description": "why it was paused"})
    state_by = ma.fields.String(allow_none=True)
    position = ma.fields.Integer(allow_none=True, metadata={"description": "the last log position passed"})
    lag = ma.fields.Integer(allow_none=True, metadata={"description": "log positions not yet passed"})
    delivered = ma.fields.Integer()
    attempts = ma.fields.Integer(metadata={"description": "failed attempts at the next event"})
    next_attempt = ma.fields.String(allow_none=True)
    last_attempt = ma.fields.String(allow_none=True)
    last_status = ma.fields.Integer(allow_none=True)
    last_error = ma.fields.String(allow_none=True)
    created_at = ma.fields.String()
    created_by = ma.fields.String()
    changed_at = ma.fields.String()
    version = ma.fields.Integer()


class SubscriptionCreated(SubscriptionOut):
    secret = ma.fields.String(metadata={"description": "the signing secret (Standard Webhooks, whsec_…): "
                                                       "shown in this answer only"})


class SubscriptionPage(s.Page):
    items = ma.fields.List(ma.fields.Nested(SubscriptionOut))


# ------------------------------------------------------------------ answers
def view(subscription_id: UUID | str) -> dict[str, Any]:
    app = service()
    found = app.subscriptions.views(app.log_position(), str(subscription_id))
    if not found:
        raise NotFound(f"no subscription {subscription_id}")
    return found[0]


@blp.route("/subscriptions", methods=["GET"])
@blp.arguments(s.NoQuery, location="query", as_kwargs=True, unknown=ma.RAISE)
@blp.response(200, SubscriptionPage)
@documented(422)
def listing() -> Response:
    """Every subscription, with where its delivery stands.

    Admins. URL, filters, state, position and lag; never the secret."""
    app = service()
    return as_json({"items": app.subscriptions.views(app.log_position()), "next": None})


@blp.route("/subscriptions/<uuid:subscription_id>", methods=["GET"])
@blp.arguments(s.NoQuery, location="query", as_kwargs=True, unknown=ma.RAISE)
@blp.response(200, SubscriptionOut)
@documented(404, 422)
def one(subscription_id: UUID) -> Response:
    """One subscription: filters, state, position, lag, last attempt and error.

    Admins; never the secret."""
    return as_json(view(subscription_id))


@blp.route("/subscriptions", methods=["POST"])
@blp.arguments(SubscriptionIn)
@blp.arguments(s.NoQuery, location="query", as_kwargs=True, unknown=ma.RAISE)
@blp.response(201, SubscriptionCreated, headers={"Location": {"schema": {"type": "string"}, "required": True,
                                                              "description": "the subscription's URL"}})
@documented(400, 413, 415, 422)
def subscribe(body: dict[str, Any]) -> Response:
    """Subscribe a URL to the standards' events; the answer shows the signing secret once."""
    secret = new_secret()
    created: Subscription = service().handle(commands.Subscribe(**body, secret=secret, actor=actor()))
    return as_json({**view(created.id), "secret": secret}, 201,
                   {"Location": url_for("subscriptions.one", subscription_id=created.id)})


COMMAND_ROUTES["subscriptions.subscribe"] = (commands.Subscribe,)


def subscription_route(path: str, command: type[commands.SubscriptionCommand], body: Any,
                       method: str = "POST") -> None:
    """The route of a command on one subscription: its body (or query) schema
    gives the command's fields; the answer is the subscription as it now is."""
    deleting = command is commands.DeleteSubscription

    def route(fields: dict[str, Any], subscription_id: UUID) -> Response:
        service().handle(command(subscription_id=subscription_id, actor=actor(), **fields))
        return Response(status=204) if deleting else as_json(view(subscription_id))

    route.__name__ = route.__qualname__ = command.spec.name
    route.__doc__ = command.__doc__
    COMMAND_ROUTES[f"{blp.name}.{command.spec.name}"] = (command,)
    arguments = (blp.arguments(body, location="query", unknown=ma.RAISE) if deleting else blp.arguments(body))
    answer = blp.response(204) if deleting else blp.response(200, SubscriptionOut)
    for decorate in (documented(404, 409, 422, *(() if deleting else (400, 413, 415))), answer, arguments,
                     blp.route(f"/subscriptions/<uuid:subscription_id>{path}", methods=[method])):
        route = decorate(route)


class DeleteQuery(s.Strict):
    reason = s.Text(**s.REASON)


for _path, _command, _body, _method in (
    ("", commands.ChangeSubscription, SubscriptionChange, "PATCH"),
    ("", commands.DeleteSubscription, DeleteQuery, "DELETE"),
    ("/pause", commands.PauseSubscription, s.Reason, "POST"),
    ("/resume", commands.ResumeSubscription, s.Reason, "POST"),
    ("/replay", commands.ReplaySubscription, Replay, "POST"),
):
    subscription_route(_path, _command, _body, _method)
