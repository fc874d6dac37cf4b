"""The performance dashboard: admin pages, staff JSON API, Prometheus export."""
