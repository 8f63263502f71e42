"""The allowed transitions, read from the command registry: a command on a
standard may start only from the stages its declaration names."""

from __future__ import annotations

from lifecycle.commands import REGISTRY
from lifecycle.errors import InvalidTransition
from lifecycle.vocabulary import Stage

__all__ = ["TRANSITIONS", "Stage", "check"]

# command -> the stages it may start from. Anything else is refused (409).
TRANSITIONS: dict[str, frozenset[Stage]] = {
    name: spec.stages for name, spec in REGISTRY.items() if spec.stages
}


def check(command: str, stage: Stage, code: str) -> None:
    """Refuse `command` unless the registry allows it from `stage`."""
    spec = REGISTRY[command]
    if stage not in spec.stages:
        raise InvalidTransition(
            f"cannot {spec.word} {code}: it is {stage.words}; "
            f"allowed only when {' or '.join(sorted(s.words for s in spec.stages))}",
            stage=stage.value,
            command=command,
        )
