"""schemathesis against the app, in-process: for generated requests to every operation, the
answer is documented (status, content type, schema), never a 500, and every failure is an
`ErrorInfo`. The runtime has only harmless skills (no network, nothing that exits)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import ignored_auth, positive_data_acceptance

from aos_core import ErrorInfo, Runtime
from aos_core.testing import FakePlugin, fake_skill
from aos_server.app import create_app
from aos_server.service import Service
from aos_server.settings import ServerSettings
from aos_skill_json.skill import JsonTransform

EXAMPLES = int(
    os.environ.get("AOS_SCHEMATHESIS_EXAMPLES", "12")
)  # per operation: a bounded run (about 20 operations), a few seconds


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    store = tmp_path_factory.mktemp("schemathesis") / "runs.sqlite3"
    plugin = FakePlugin(skills=[fake_skill("note"), JsonTransform()], name="harmless")
    runtime = Runtime(plugins=[plugin], entry_points=False, store=store, shared_budgets=True)
    made = Service(runtime, ServerSettings(store=str(store), workers=0))
    yield made
    runtime.close()


@pytest.fixture(scope="module")
def admin_key(service: Service) -> str:
    return service.keys.create("schemathesis", "admin")[1]


@pytest.fixture(scope="module")
def api_schema(service: Service) -> Any:
    return schemathesis.openapi.from_asgi("/openapi.json", create_app(service))


# (method, path) of every operation the app documents; create_app(None) is enough to list them.
_PATHS = create_app(None).openapi()["paths"]
OPERATIONS = [(method.upper(), path) for path, methods in _PATHS.items() for method in methods]
# Negative examples need something to break: a parameter or a body.
TAKES_INPUT = {
    (m.upper(), p) for p, ms in _PATHS.items() for m, op in ms.items() if op.get("parameters") or op.get("requestBody")
}


CASES = [(m, p, GenerationMode.POSITIVE) for m, p in OPERATIONS]
CASES += [(m, p, GenerationMode.NEGATIVE) for m, p in OPERATIONS if (m, p) in TAKES_INPUT]


@pytest.mark.parametrize(("method", "path", "mode"), CASES, ids=[f"{m} {p} {mode.value}" for m, p, mode in CASES])
def test_every_operation_answers_as_documented(
    api_schema: Any, admin_key: str, method: str, path: str, mode: GenerationMode
) -> None:
    """Valid and invalid requests alike: never a 500, always a documented answer."""
    operation = api_schema[path][method]

    @given(case=operation.as_strategy(mode))
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def check(case: schemathesis.Case) -> None:
        response = case.call(headers={"X-API-Key": admin_key})
        # A request valid by the schema may still be refused (a plan naming a skill nobody
        # provides, a run id that does not exist), and the key sent is always valid (keys have
        # their own tests): the positive-data and ignored-auth checks are left out.
        case.validate_response(response, excluded_checks=[positive_data_acceptance, ignored_auth])
        if response.status_code >= 400:
            ErrorInfo.model_validate(response.json())

    check()


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_every_operation_but_the_health_checks_needs_a_key(api_schema: Any, method: str, path: str) -> None:
    """Without a key, every /v1 operation answers 401, whatever its input."""
    operation = api_schema[path][method]
    expected = 401 if path.startswith("/v1") else 200

    @given(case=operation.as_strategy())
    @settings(max_examples=3, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def check(case: schemathesis.Case) -> None:
        assert case.call(headers={"X-API-Key": ""}).status_code == expected

    check()
