"""Celery tasks of the alerts app: thin wrappers around the services."""

import socket

from celery import shared_task

from perfdash.alerts import services


@shared_task(name="perfdash.alerts.tasks.evaluate_alerts", ignore_result=True)
def evaluate_alerts() -> None:
    """Run one evaluation tick of every enabled alert rule."""
    services.run_tick(hostname=socket.gethostname())
