"""The command registry (lifecycle/commands.py) is the one declaration of
every command: the transition table, the permissions, the routes' role
checks and the audit log's words are read from it."""

from __future__ import annotations

import dataclasses

import pytest

from api import create_app, files, standards, subscriptions  # noqa: F401  (files adds its routes to the standards')
from lifecycle.commands import (
    REGISTRY,
    Command,
    StandardCommand,
    SubscriptionCommand,
    UserCommand,
    spec_of_event,
)
from lifecycle.users import PERMISSIONS, Role
from lifecycle.workflow import TRANSITIONS
from projections.audit import event_type

WRITES = {"POST", "PUT", "PATCH", "DELETE"}
# Every blueprint that sends commands says which command each endpoint sends.
COMMAND_ROUTES = {**standards.COMMAND_ROUTES, **subscriptions.COMMAND_ROUTES}


class _NoStore:
    """The routes are made without a store."""


@pytest.fixture(scope="module")
def routes():
    app = create_app(service=_NoStore())  # type: ignore[arg-type]
    # The API's routes: the pages post only to sign in and out, which record nothing.
    return [(rule.endpoint, method) for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/")
            for method in rule.methods or () if method in WRITES]


def test_every_command_route_sends_a_registered_command(routes):
    assert routes, "no command routes found"
    for endpoint, method in routes:
        sent = COMMAND_ROUTES.get(endpoint)
        assert sent, f"{method} {endpoint} sends no command of the registry"
        for command in sent:
            assert REGISTRY[command.spec.name].command is command
        assert len({c.spec.roles for c in sent}) == 1, f"{endpoint}: the guard checks one set of roles"


def test_every_registered_command_has_a_route_or_is_sent_from_the_console(routes):
    routed = {command for endpoint, _ in routes for command in COMMAND_ROUTES[endpoint]}
    for spec in REGISTRY.values():
        if issubclass(spec.command, UserCommand):
            continue  # `lifecycle user …` at the operator's console
        assert spec.command in routed, f"{spec.name} has no route"


def test_each_command_is_declared_once_with_everything_it_needs():
    assert len({spec.command for spec in REGISTRY.values()}) == len(REGISTRY)
    for name, spec in REGISTRY.items():
        assert spec.name == name and spec.command.spec is spec
        assert dataclasses.is_dataclass(spec.command) and issubclass(spec.command, Command)
        assert spec.roles and spec.label and spec.word and spec.records
        if issubclass(spec.command, StandardCommand):
            assert spec.stages, f"{name} names no stage it may start from"
            assert spec.command.run is not StandardCommand.run, f"{name} calls no domain method"
        if issubclass(spec.command, SubscriptionCommand):
            assert spec.command.run is not SubscriptionCommand.run, f"{name} calls no domain method"


def test_the_tables_are_read_from_the_registry():
    assert TRANSITIONS == {n: s.stages for n, s in REGISTRY.items() if s.stages}
    for name, spec in REGISTRY.items():
        assert PERMISSIONS[name] == spec.roles


def test_every_event_type_has_the_word_of_the_command_that_records_it():
    from lifecycle.domain import Standard
    from lifecycle.subscriptions import Subscription
    from lifecycle.users import User

    for owner in (Standard, User, Subscription):
        for value in vars(owner).values():
            if isinstance(value, type) and issubclass(value, owner.Event) \
                    and value.__name__ not in ("Event", "Created"):  # bases, and the library's own
                kind = event_type(value.__new__(value))
                assert spec_of_event(kind) is not None, f"{kind} is recorded by no registered command"


def test_every_blueprint_reads_its_arguments_with_the_projects_parser():
    """api.inputs.Blueprint gives every route the input rules (415, repeated
    parameters, nesting depth): a blueprint made otherwise would skip them."""
    from flask_smorest import Blueprint as SmorestBlueprint

    from api.inputs import Blueprint

    app = create_app(service=_NoStore())  # type: ignore[arg-type]
    api_blueprints = [b for b in app.blueprints.values() if isinstance(b, SmorestBlueprint)]
    assert len(api_blueprints) >= 4
    for blueprint in api_blueprints:
        assert isinstance(blueprint, Blueprint), blueprint.name


def test_every_subscription_route_is_guarded_by_its_commands_roles(routes):
    """The blueprint's guard reads the roles of the command each write sends."""
    sent = {endpoint: COMMAND_ROUTES[endpoint] for endpoint, _ in routes
            if endpoint.startswith("subscriptions.")}
    assert {c.spec.name for commands in sent.values() for c in commands} == {
        "subscribe", "change_subscription", "delete_subscription", "pause_subscription",
        "resume_subscription", "replay_subscription"}
    for commands in sent.values():
        assert PERMISSIONS[commands[0].spec.name] == {Role.ADMIN}
    assert PERMISSIONS["read_subscriptions"] == {Role.ADMIN}
