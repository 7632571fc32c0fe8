"""Schemathesis over the OpenAPI document: whatever a client sends, no 500, and every answer is one
the document promises (status, content type, body schema), signed in or not. Bounded and seeded
examples keep it to seconds and the same on every run."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.auths import AuthStorage
from schemathesis.specs.openapi.checks import positive_data_acceptance

EXAMPLES = 8  # per operation and mode


def test_every_operation_answers_as_documented(api) -> None:
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", api.client.app)
    token = api.tokens["admin"]
    auth = AuthStorage()

    @auth.auth()
    class Bearer:
        def get(self, case, ctx) -> str:  # noqa: ANN001
            return token

        def set(self, case, data: str, ctx) -> None:  # noqa: ANN001
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}

    problems: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 17
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode, auth_storage=auth))
            @settings(max_examples=EXAMPLES, database=None, deadline=None, derandomize=True, phases=[Phase.generate],
                      suppress_health_check=list(HealthCheck))
            def call(case) -> None:  # noqa: ANN001
                # Rules across parameters (from <= to, a unit that exists at the level, paging within the
                # records) cannot be said in OpenAPI, so a schema-valid request may rightly get a 422.
                case.call_and_validate(excluded_checks=[positive_data_acceptance])

            try:
                call()
            except Unsatisfiable:
                assert mode == GenerationMode.NEGATIVE  # nothing to get wrong: an operation without parameters
            except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001  collect every failure, report them all
                problems.append(f"{operation.label} [{mode.value}]: {exc}")
    assert not problems, "\n\n".join(problems)
