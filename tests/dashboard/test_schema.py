"""The staff JSON endpoints are documented in the OpenAPI schema."""

import pytest
import yaml
from django.test import Client

pytestmark = pytest.mark.django_db


def test_schema_documents_every_dashboard_endpoint():
    response = Client().get("/api/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)

    for name in ("summary", "routes", "series", "statements"):
        operation = schema["paths"][f"/perfdash/api/{name}"]["get"]
        assert operation["tags"] == ["perfdash"]
        parameters = {p["name"] for p in operation["parameters"]}
        assert {"range", "start", "end"} <= parameters
        assert {"200", "400", "401", "403"} <= set(operation["responses"])

    summary = schema["components"]["schemas"]["Summary"]["properties"]
    assert {"requests", "total_p95_ms", "cache_hit_ratio"} <= set(summary)
    series = schema["components"]["schemas"]["SeriesPoint"]["properties"]
    assert {"at", "rate_per_second", "pool_utilization"} <= set(series)
