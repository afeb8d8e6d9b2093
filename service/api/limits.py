"""The API's bounds and enumerations, one place for the routes that enforce them and the OpenAPI document that
states them (``tests/api/test_openapi.py`` checks that the two agree)."""

from __future__ import annotations

from service.store.lifecycle import states

MAX_FILES = 20
DEFAULT_PER_PAGE, MAX_PER_PAGE, MAX_PAGE = 50, 200, 100_000
MAX_ID = 2**31 - 1  # ids are 32-bit integers in PostgreSQL
STATUSES = tuple(states())  # every status of the lifecycle (data/lifecycle/states.json)
