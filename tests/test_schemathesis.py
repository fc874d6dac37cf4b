"""Property-based API testing from the OpenAPI schema: no input makes a 5xx.

Schemathesis generates requests for every operation of the schema the app
serves at ``/api/schema/``, valid and invalid, and sends them through the
WSGI app with a valid token for the user named in the path. The example
count is kept small so the run takes a minute or two.
"""

import json
from typing import Any

import pytest
import schemathesis
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from chatbot.wsgi import application
from tests.conftest import token_for

# Built here, not fetched: schemathesis' lazy (fixture) loader does not run
# on this pytest. It is the document /api/schema/ serves.
schema = schemathesis.openapi.from_dict(
    json.loads(OpenApiJsonRenderer().render(SchemaGenerator().get_schema(public=True)))
)


def test_the_schema_tested_is_the_one_served(client):
    served = client.get("/api/schema/?format=json")
    assert served.status_code == 200
    assert sorted(json.loads(served.content)["paths"]) == sorted(
        schema.raw_schema["paths"]
    )


@pytest.fixture
def fuzz_user(transactional_db: None) -> Any:
    # Requests go through the whole WSGI handler, whose request signals close
    # connections: no outer test transaction can wrap them.
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_user(
        username="fuzz", password="a-Long-pass-123"
    )


@schema.parametrize()
@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_no_generated_request_gets_a_server_error(case: Any, fuzz_user: Any) -> None:
    # The local reply backend never fails, so a 5xx here is the app's own.
    if case.path_parameters and "user_id" in case.path_parameters:
        case.path_parameters["user_id"] = fuzz_user.pk
    case.call_and_validate(
        app=application,
        headers={"Authorization": f"Bearer {token_for(fuzz_user)}"},
        checks=[not_a_server_error],
    )
