"""Seed the default alert rules from the design, plus two disabled p95 splits."""

from datetime import timedelta

from django.db import migrations

DEFAULT_RULES = [
    {
        "name": "Response time p95",
        "metric": "response_time_p95",
        "comparison": "gt",
        "threshold": 500.0,
        "recovery_threshold": 400.0,
        "window": timedelta(minutes=5),
        "pending_for": timedelta(minutes=5),
        "min_samples": 50,
        "severity": "warning",
        "repeat_interval": None,
        "guidance": "Investigate slow queries",
        "enabled": True,
    },
    {
        "name": "Cache hit ratio",
        "metric": "cache_hit_ratio",
        "comparison": "lt",
        "threshold": 0.7,
        "recovery_threshold": 0.75,
        "window": timedelta(minutes=15),
        "pending_for": timedelta(minutes=10),
        "min_samples": 100,
        "severity": "warning",
        "repeat_interval": None,
        "guidance": "Review cache strategies",
        "enabled": True,
    },
    {
        "name": "DB connection utilization",
        "metric": "db_connection_utilization",
        "comparison": "gt",
        "threshold": 0.9,
        "recovery_threshold": 0.8,
        "window": timedelta(minutes=5),
        "pending_for": timedelta(minutes=2),
        "min_samples": 3,
        "severity": "critical",
        "repeat_interval": timedelta(hours=1),
        "guidance": "Scale database connections",
        "enabled": True,
    },
    {
        "name": "Error rate",
        "metric": "error_rate",
        "comparison": "gt",
        "threshold": 0.05,
        "recovery_threshold": 0.02,
        "window": timedelta(minutes=5),
        "pending_for": timedelta(minutes=2),
        "min_samples": 20,
        "severity": "critical",
        "repeat_interval": timedelta(hours=1),
        "guidance": "Immediate investigation required",
        "enabled": True,
    },
    {
        "name": "App time p95",
        "metric": "app_time_p95",
        "comparison": "gt",
        "threshold": 500.0,
        "recovery_threshold": 400.0,
        "window": timedelta(minutes=5),
        "pending_for": timedelta(minutes=5),
        "min_samples": 50,
        "severity": "warning",
        "repeat_interval": None,
        "guidance": (
            "The app itself is slow, model time excluded: investigate slow "
            "queries, N+1 suspects and pool waits"
        ),
        "enabled": False,
    },
    {
        "name": "Upstream model p95",
        "metric": "upstream_time_p95",
        "comparison": "gt",
        "threshold": 5000.0,
        "recovery_threshold": 4000.0,
        "window": timedelta(minutes=5),
        "pending_for": timedelta(minutes=5),
        "min_samples": 50,
        "severity": "warning",
        "repeat_interval": None,
        "guidance": (
            "The model provider is slow, not the app: check the provider's "
            "status and consider a faster model"
        ),
        "enabled": False,
    },
]


def seed(apps, schema_editor):
    Rule = apps.get_model("alerts", "Rule")
    for fields in DEFAULT_RULES:
        Rule.objects.get_or_create(name=fields["name"], defaults=fields)


def unseed(apps, schema_editor):
    Rule = apps.get_model("alerts", "Rule")
    Rule.objects.filter(name__in=[r["name"] for r in DEFAULT_RULES]).delete()


class Migration(migrations.Migration):
    dependencies = [("alerts", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
