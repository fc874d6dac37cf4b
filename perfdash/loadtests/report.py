"""Plain-text tables printed by the load-test commands."""

from typing import Any

from perfdash.loadtests.models import LoadTestRun


def _fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.2f}{unit}"
    return f"{value}{unit}"


def table(rows: list[list[str]]) -> str:
    """Return rows as left-aligned columns, the first row as header."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip()
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def run_table(run: LoadTestRun) -> str:
    """Return the summary of a run: its figures, then each judged threshold."""
    figures = run.figures
    resources = figures.get("resources", {})
    rows = [
        ["figure", "value"],
        ["target / achieved rate", f"{run.target_rps:g} / {run.achieved_rps:g} rps"],
        ["requests (steady)", _fmt(run.requests)],
        ["missed arrival slots", _fmt(run.missed_slots)],
        ["failures", _fmt(run.failures)],
        ["error rate", _fmt(run.error_rate_pct, "%")],
        ["average", _fmt(run.avg_ms, " ms")],
    ]
    for percentile, value in figures.get("percentiles_ms", {}).items():
        rows.append([f"p{percentile}", _fmt(value, " ms")])
    rows.append(["max", _fmt(run.max_ms, " ms")])
    if figures.get("history_reads"):
        rows.append(
            [
                "history reads / p95",
                f"{figures['history_reads']} / "
                f"{_fmt(figures.get('history_p95_ms'), ' ms')}",
            ]
        )
    if figures.get("isolation_checked"):
        rows.append(
            [
                "responses checked / foreign",
                f"{figures['isolation_checked']} / {figures['foreign_messages']}",
            ]
        )
    for key, label in (
        ("server_cpu_avg_pct", "server CPU avg / max"),
        ("generator_cpu_avg_pct", "load generator CPU avg / max"),
    ):
        if key in resources:
            peak = key.replace("avg", "max")
            rows.append([label, f"{resources[key]}% / {resources[peak]}%"])
    if "server_rss_max_mb" in resources:
        rows.append(
            [
                "server memory max",
                f"{resources['server_rss_max_mb']} MiB "
                f"({resources['server_memory_max_pct']}%)",
            ]
        )
    if resources.get("generator_cpus"):
        rows.append(
            [
                "cores allowed",
                f"server {resources.get('server_cpus') or '?'}, "
                f"load generator {resources['generator_cpus']}",
            ]
        )
    if "generator_rss_max_mb" in resources:
        rows.append(
            ["load generator memory max", f"{resources['generator_rss_max_mb']} MiB"]
        )

    checks = [["threshold", "measured", "rule", "verdict"]]
    for check in run.checks:
        verdict = {True: "PASS", False: "FAIL", None: "not measured"}[check["passed"]]
        checks.append([check["name"], _fmt(check["value"]), check["rule"], verdict])
    verdict = "PASSED" if run.passed else "FAILED"
    return (
        f"Load test '{run.name}' against {run.target_url} (run {run.pk}): {verdict}\n"
        f"{table(rows)}\n\n{table(checks)}"
    )


def _bytes(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value / 1024:,.1f} KiB"


def comparison_table(data: dict[str, Any]) -> str:
    """Return a comparison's measured rows beside the design's figures."""
    comparison = data["comparison"]
    rows = [
        [
            "mode", "avg ms", "design avg", "p95 ms", "stmts/req", "design stmts",
            "process mem/session", "cache mem/session",
            f"sessions in {comparison.memory_budget_mb:g} MiB",
        ]
    ]  # fmt: skip
    for row in data["rows"]:
        rows.append(
            [
                row["mode"],
                _fmt(row["avg_ms"]),
                _fmt(row["design_avg_ms"]),
                _fmt(row["p95_ms"]),
                _fmt(row["statements_per_request"]),
                _fmt(row["design_statements_per_request"]),
                _bytes(row["process_bytes_per_session"]),
                _bytes(row["cache_bytes_per_session"]),
                _fmt(row["sessions_in_budget"]),
            ]
        )
    return f"Mode comparison {comparison.pk}\n{table(rows)}"
