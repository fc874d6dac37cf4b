"""Load-test scenario files: parse and validate the YAML into plain values.

The file format is the one in the design (``scenarios`` and ``metrics``);
optional keys extend it without changing what the default file means.
Percentages are written ``"1%"`` or as a bare number of percent.
"""

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

DEFAULT_SCENARIO_FILE = Path(__file__).resolve().parent / "scenarios" / "default.yaml"
# The design's target for a chat turn; judged whenever a scenario names no
# latency limit of its own.
DESIGN_P95_TARGET_MS = 200.0
# A run whose achieved arrival rate falls further short than this fraction of
# the target did not test what it claims to.
MIN_RATE_FRACTION = 0.95


class ScenarioError(ValueError):
    """A scenario file that cannot be run as written."""


@dataclass(frozen=True)
class Thresholds:
    percentiles: tuple[int, ...] = (50, 95, 99)
    error_rate_pct: float = 1.0
    cpu_max_pct: float = 80.0
    memory_max_pct: float = 80.0
    # Percentile -> most milliseconds allowed.
    latency_max_ms: dict[int, float] = field(
        default_factory=lambda: {95: DESIGN_P95_TARGET_MS}
    )
    min_rate_fraction: float = MIN_RATE_FRACTION


@dataclass(frozen=True)
class Scenario:
    name: str
    target_rps: float
    duration: float
    user_count: int
    ramp_up: float
    thresholds: Thresholds
    # A user starts a new conversation after this many turns, so the context
    # window stays the size a real conversation has.
    turns_per_conversation: int = 10
    # Read the conversation's history every N turns (0: never).
    history_every: int = 0
    # Check every response and history read for other users' messages.
    isolation_check: bool = False
    message_chars: int = 80

    @property
    def user_interval(self) -> float:
        """Return the seconds between two turns of one simulated user."""
        return self.user_count / self.target_rps

    def as_dict(self) -> dict[str, Any]:
        """Return the scenario as JSON-ready values."""
        data = asdict(self)
        data["thresholds"]["percentiles"] = list(self.thresholds.percentiles)
        data["thresholds"]["latency_max_ms"] = {
            str(k): v for k, v in self.thresholds.latency_max_ms.items()
        }
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Scenario":
        """Rebuild a scenario from :meth:`as_dict` output."""
        raw = dict(data)
        limits = dict(raw.pop("thresholds"))
        limits["percentiles"] = tuple(limits["percentiles"])
        limits["latency_max_ms"] = {
            int(k): float(v) for k, v in limits["latency_max_ms"].items()
        }
        return cls(thresholds=Thresholds(**limits), **raw)


def _percent(value: Any, where: str) -> float:
    if isinstance(value, str) and value.strip().endswith("%"):
        value = value.strip()[:-1]
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ScenarioError(f"{where}: expected a percentage, got {value!r}") from None
    if not 0 <= number <= 100:
        raise ScenarioError(f"{where}: {number}% is outside 0-100%")
    return number


def _positive(
    spec: dict[str, Any], key: str, where: str, *, zero_ok: bool = False
) -> float:
    if key not in spec:
        raise ScenarioError(f"{where}: missing {key}")
    try:
        number = float(spec[key])
    except (TypeError, ValueError):
        raise ScenarioError(f"{where}.{key}: expected a number") from None
    if number < 0 or (number == 0 and not zero_ok):
        raise ScenarioError(f"{where}.{key}: must be {'>= 0' if zero_ok else '> 0'}")
    return number


def _thresholds(metrics: dict[str, Any]) -> Thresholds:
    percentiles = tuple(
        int(p) for p in metrics.get("response_time_percentiles", [50, 95, 99])
    )
    if not percentiles or any(not 0 < p < 100 for p in percentiles):
        raise ScenarioError("metrics.response_time_percentiles: use values in 1-99")
    resources = metrics.get("resource_utilization") or {}
    latency_max = metrics.get("response_time_max_ms") or {95: DESIGN_P95_TARGET_MS}
    try:
        latency = {int(k): float(v) for k, v in dict(latency_max).items()}
    except (TypeError, ValueError):
        raise ScenarioError(
            "metrics.response_time_max_ms: map a percentile to milliseconds"
        ) from None
    return Thresholds(
        percentiles=tuple(sorted(set(percentiles) | set(latency))),
        error_rate_pct=_percent(
            metrics.get("error_rate_threshold", "1%"), "metrics.error_rate_threshold"
        ),
        cpu_max_pct=_percent(resources.get("cpu_max", "80%"), "cpu_max"),
        memory_max_pct=_percent(resources.get("memory_max", "80%"), "memory_max"),
        latency_max_ms=latency,
        min_rate_fraction=float(metrics.get("min_rate_fraction", MIN_RATE_FRACTION)),
    )


def parse_scenarios(text: str) -> list[Scenario]:
    """Return the scenarios a YAML document describes, in file order."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ScenarioError(f"not valid YAML: {exc}") from None
    if not isinstance(document, dict) or not isinstance(
        document.get("scenarios"), dict
    ):
        raise ScenarioError("the file needs a 'scenarios' mapping")
    thresholds = _thresholds(document.get("metrics") or {})

    scenarios = []
    for name, spec in document["scenarios"].items():
        where = f"scenarios.{name}"
        if not isinstance(spec, dict):
            raise ScenarioError(f"{where}: expected a mapping")
        scenario = Scenario(
            name=str(name),
            target_rps=_positive(spec, "target_rps", where),
            duration=_positive(spec, "duration", where),
            user_count=int(_positive(spec, "user_count", where)),
            ramp_up=_positive(spec, "ramp_up", where, zero_ok=True),
            thresholds=thresholds,
            turns_per_conversation=int(spec.get("turns_per_conversation", 10)),
            history_every=int(spec.get("history_every", 0)),
            isolation_check=bool(spec.get("isolation_check", False)),
            message_chars=int(spec.get("message_chars", 80)),
        )
        if scenario.turns_per_conversation < 1:
            raise ScenarioError(f"{where}.turns_per_conversation: must be >= 1")
        scenarios.append(scenario)
    if not scenarios:
        raise ScenarioError("the file names no scenario")
    return scenarios


def load_scenarios(path: Path | str | None = None) -> list[Scenario]:
    """Read and parse a scenario file (the default one when no path is given)."""
    file = Path(path) if path else DEFAULT_SCENARIO_FILE
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(f"cannot read {file}: {exc.strerror}") from None
    return parse_scenarios(text)
