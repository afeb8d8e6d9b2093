"""The states of a submission and the actions that move it between them, as data (``data/lifecycle/states.json``).

One table answers, for every surface, what a status is called, whether a file in it is a submission of its unit
(``counts``: quota, dashboard, the rules across units, exports) or only an upload waiting to be dismissed or
reassigned, and which actions a person may take from it. The actions themselves are in :mod:`service.actions`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent.parent.parent / "data" / "lifecycle" / "states.json"


@dataclass(frozen=True)
class State:
    id: str
    label: str
    kind: str  # computed | held
    counts: bool
    tone: str
    upload: bool = False
    description: str = ""  # what the status means to a unit (the help page)


@dataclass(frozen=True)
class Transition:
    id: str
    label: str
    sources: frozenset[str]
    target: str | None  # None: back to the state the problems give (restore)
    by: frozenset[str]  # admin | sender | sender_before_deadline
    needs_message: bool = False


@cache
def _table() -> tuple[dict[str, State], dict[str, Transition]]:
    raw: dict[str, Any] = json.loads(DATA.read_text(encoding="utf-8"))
    states = {k: State(id=k, label=v["label"], kind=v["kind"], counts=v["counts"], tone=v["tone"],
                       upload=v.get("upload", False), description=v.get("description", ""))
              for k, v in raw["states"].items()}
    actions = {k: Transition(id=k, label=v["label"], sources=frozenset(v["from"]), target=v["to"],
                             by=frozenset(v["by"]), needs_message=v.get("needs_message", False))
               for k, v in raw["actions"].items()}
    for t in actions.values():
        unknown = (t.sources | ({t.target} if t.target else set())) - states.keys()
        if unknown:
            raise ValueError(f"lifecycle action {t.id} names unknown states {sorted(unknown)}")
    return states, actions


def states() -> dict[str, State]:
    return _table()[0]


def transitions() -> dict[str, Transition]:
    return _table()[1]


def state(status: str) -> State:
    return states()[status]


def label(status: str) -> str:
    found = states().get(status)
    return found.label if found else status


LABELS: dict[str, str] = {k: v.label for k, v in states().items()}
HELD = frozenset(k for k, v in states().items() if v.kind == "held")
COUNTED = frozenset(k for k, v in states().items() if v.counts)
NOT_COUNTED = frozenset(states()) - COUNTED
UPLOADS = frozenset(k for k, v in states().items() if v.upload)


def allowed(action: str, status: str) -> bool:
    """Whether ``action`` may start from ``status`` (who may take it is the action's own check)."""
    t = transitions().get(action)
    return t is not None and status in t.sources
