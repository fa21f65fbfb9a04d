"""schemathesis against /openapi.json: every operation, generated valid and invalid requests, no server error.

Every error answer must also be the house JSON error shape (``api.errors.error_response``).

Runs in-process (WSGI) on the session's throwaway databases (SQLite and PostgreSQL), over the prepared
events, with a fixed seed (hypothesis ``derandomize``) so CI is deterministic. Every operation is called
without a token and with the app's INGEST_TOKEN, so the authenticated ingest paths are exercised too.
``FUZZ_EXAMPLES`` sets the examples per operation and mode (default 40); ``FUZZ_SEED=random`` draws
fresh examples on every run instead of the fixed ones.

schemathesis' own pytest integration (``schemathesis.pytest.from_fixture``) fails on pytest 9
(``'Function' object has no attribute '_nodeid'``, schemathesis 4.32.5), so each operation's
strategy (``APIOperation.as_strategy``) is driven by hypothesis here directly.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from tests.trends.conftest import insert_events

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "40"))
RANDOM = os.environ.get("FUZZ_SEED", "") == "random"
TOKEN = "fuzz-token"


@pytest.fixture
def app_overrides() -> dict[str, object]:
    """Give the app under test an ingest token, so authenticated requests reach the pipeline."""
    return {"INGEST_TOKEN": TOKEN}


@pytest.fixture
def api_schema(app: Any, engine: Any) -> Any:
    """Return the app's OpenAPI schema for schemathesis, over the prepared events."""
    insert_events(engine)
    return schemathesis.openapi.from_wsgi("/openapi.json", app)


@schemathesis.check
def house_error_shape(_ctx: Any, response: Any, _case: Any) -> None:
    """Every 4xx/5xx answer is the house JSON error: {"status", "message", "detail"}."""
    if response.status_code < 400:
        return
    body = response.json()
    assert isinstance(body, dict) and set(body) == {"status", "message", "detail"}, body
    assert body["status"] == response.status_code and isinstance(body["message"], str) and body["message"]


def server_errors(operation: Any, mode: GenerationMode, headers: dict[str, str] | None) -> str | None:
    """Call ``operation`` with generated cases; return the first server error found (shrunk), or None."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        derandomize=not RANDOM,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        case.call_and_validate(headers=headers, checks=[not_a_server_error, house_error_shape])

    try:
        run()
    except Unsatisfiable:  # nothing to make invalid: an operation without parameters or body
        return None
    except Exception as exc:  # noqa: BLE001 - schemathesis reports a failing check as an exception group
        return f"{operation.method.upper()} {operation.path} ({mode}): {exc}"
    return None


@pytest.mark.parametrize("token", [None, TOKEN], ids=["anonymous", "token"])
def test_no_server_errors_on_any_operation(api_schema: Any, token: str | None) -> None:
    headers = {"Authorization": f"Bearer {token}"} if token else None
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 6  # health, monitoring x2, events, trends, ingest x2
    failures = [
        failure
        for operation in operations
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
        if (failure := server_errors(operation, mode, headers))
    ]
    assert failures == [], "\n\n".join(failures)
