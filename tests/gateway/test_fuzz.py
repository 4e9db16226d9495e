"""Fuzzing the gateway's OpenAPI schema with schemathesis (bounded examples per operation): whatever a
client sends that the schema allows, or nearly allows, the answer is never a 500."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import hypothesis
import pytest
import schemathesis
from schemathesis.checks import not_a_server_error

from gateway.app import create_app
from gateway.config import Settings
from tests.gateway.conftest import admin_auth, service_auth
from tests.servers import ThreadedServer

EXAMPLES_PER_OPERATION = 12


@pytest.fixture(scope="module")
def gateway_url(database_url: str, redis_url: str, embedding_service_url: str) -> Iterator[str]:
    from tests.gateway.conftest import gateway_settings

    settings: Settings = gateway_settings(database_url, redis_url, embedding_service_url)
    with ThreadedServer(create_app(settings), name="fuzzed-gateway") as server:
        yield server.base_url


def fuzz_operation(operation: Any, base_url: str, headers: dict[str, str], calls: list[int]) -> None:
    """Up to EXAMPLES_PER_OPERATION generated requests; raises on the first 5xx (hypothesis shrinks it)."""

    @hypothesis.given(case=operation.as_strategy())
    @hypothesis.settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        suppress_health_check=list(hypothesis.HealthCheck),
        derandomize=True,
        database=None,
    )
    def exercise(case: Any) -> None:
        calls.append(1)
        case.call_and_validate(base_url=base_url, headers=headers, checks=[not_a_server_error])

    exercise()


@pytest.mark.slow
def test_no_input_makes_the_gateway_fail(gateway_url: str) -> None:
    schema = schemathesis.openapi.from_url(f"{gateway_url}/api/openapi.json")
    failures: list[str] = []
    calls: list[int] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        headers = admin_auth() if operation.path.startswith("/api/admin") else service_auth()
        try:
            fuzz_operation(operation, gateway_url, headers, calls)
        except Exception as exc:  # collect every failing operation, then report them all
            failures.append(f"{operation.method.upper()} {operation.path}: {str(exc)[:600]}")
    assert operations >= 40, operations
    assert len(calls) >= 4 * operations, len(calls)  # most operations got several distinct requests
    assert not failures, "\n\n".join(failures)
