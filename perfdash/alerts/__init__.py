"""Alerts: threshold rules over perfdash's metrics, evaluated by Celery beat."""
