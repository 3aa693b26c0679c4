"""Property-based: requests generated from the OpenAPI schemas (schemathesis + hypothesis) never get a 500.

Bounded (a few dozen examples per operation, no example database) so it runs in seconds; both the
REST API's drf-spectacular schema and the OGC API definition are exercised, with valid and invalid input.
"""

from __future__ import annotations

import schemathesis
from django.test import TestCase
from hypothesis import HealthCheck, given, settings
from schemathesis.generation import GenerationMode

from assets.register import permissions
from tests.api_fixtures import build_register
from tests.factories import load_reference, make_user

MAX_EXAMPLES = 20


class SchemaFuzzTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        load_reference()
        cls.assets = build_register()
        cls.user = make_user("planner", permissions.PLANNER)

    def setUp(self):
        self.client.force_login(self.user)

    def fuzz(self, schema_url: str, prefix: str) -> int:
        response = self.client.get(schema_url, HTTP_ACCEPT="application/json")
        self.assertEqual(response.status_code, 200)
        schema = schemathesis.openapi.from_dict(response.json())
        operations = [result.ok() for result in schema.get_all_operations()]
        self.assertGreater(len(operations), 1)
        checked = 0
        for operation in operations:
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                self.run_cases(operation, operation.as_strategy(generation_mode=mode), prefix)
                checked += 1
        return checked

    def run_cases(self, operation, strategy, prefix: str) -> None:
        # derandomize: the same examples on every run, so a failure reproduces and CI does not flicker.
        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=strategy)
        def check(case) -> None:
            path = case.formatted_path if case.formatted_path.startswith(prefix) else prefix + case.formatted_path
            result = self.client.get(path, case.query or {})
            self.assertLess(result.status_code, 500, f"{operation.label} {path} {case.query}")

        check()

    def test_rest_api_never_answers_500(self):
        self.assertGreater(self.fuzz("/api/v1/schema/?format=json", ""), 0)

    def test_ogc_api_never_answers_500(self):
        self.assertGreater(self.fuzz("/ogc/api", "/ogc"), 0)
