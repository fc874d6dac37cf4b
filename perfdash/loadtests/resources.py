"""Sample CPU and memory of the server and of the load generator (psutil).

On one machine the load generator competes with the server for the same
cores, so both are sampled side by side. CPU is a share of the whole
machine (100% = every core busy); memory is resident set size, summed over
a process and its children (gunicorn's workers, Locust's worker processes).
"""

import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import psutil

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}


@dataclass(frozen=True)
class ResourceSample:
    at: float
    server_cpu_pct: float
    server_rss: int
    generator_cpu_pct: float
    generator_rss: int


def listening_pids(port: int) -> list[int]:
    """Return the ids of processes listening on a local TCP port."""
    pids = set()
    for conn in psutil.net_connections(kind="tcp"):
        if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port:
            if conn.pid:
                pids.add(conn.pid)
    return sorted(pids)


def _server_root(pid: int) -> int:
    # psutil names one holder of a shared listening socket; gunicorn's
    # workers share the master's, so climb to the process that forked them.
    try:
        proc = psutil.Process(pid)
        parent = proc.parent()
        while parent is not None and parent.cmdline() == proc.cmdline():
            proc, parent = parent, parent.parent()
        return proc.pid
    except psutil.Error:
        return pid


def server_pids_for(url: str) -> list[int]:
    """Return the pids serving a loopback URL, or none for a remote one."""
    parts = urlsplit(url)
    if parts.hostname not in LOOPBACK_HOSTS:
        return []
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return sorted({_server_root(pid) for pid in listening_pids(port)})


def _tree(pids: list[int]) -> list[psutil.Process]:
    procs: dict[int, psutil.Process] = {}
    for pid in pids:
        try:
            root = psutil.Process(pid)
            procs[root.pid] = root
            for child in root.children(recursive=True):
                procs[child.pid] = child
        except psutil.NoSuchProcess:
            continue
    return list(procs.values())


def memory_of(pids: list[int]) -> int:
    """Return the summed resident set size of processes and their children."""
    total = 0
    for proc in _tree(pids):
        try:
            total += proc.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total


class _Group:
    """Processes whose CPU counters are read between two samples."""

    def __init__(self, pids: list[int]) -> None:
        self.pids = pids
        self.known: dict[int, psutil.Process] = {}

    def read(self) -> tuple[float, int]:
        cpu, rss = 0.0, 0
        for proc in _tree(self.pids):
            # Keep the same Process object so cpu_percent measures the time
            # since the previous sample; a new child starts at 0.
            proc = self.known.setdefault(proc.pid, proc)
            try:
                cpu += proc.cpu_percent(None)
                rss += proc.memory_info().rss
            except psutil.NoSuchProcess:
                self.known.pop(proc.pid, None)
        return cpu / (psutil.cpu_count() or 1), rss


@dataclass
class ResourceSampler:
    """Sample both process groups every ``every`` seconds on a thread."""

    server_pids: list[int]
    generator_pids: list[int]
    every: float = 1.0
    samples: list[ResourceSample] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        server, generator = _Group(self.server_pids), _Group(self.generator_pids)
        server.read(), generator.read()
        while not self._stop.wait(self.every):
            server_cpu, server_rss = server.read()
            gen_cpu, gen_rss = generator.read()
            self.samples.append(
                ResourceSample(time.time(), server_cpu, server_rss, gen_cpu, gen_rss)
            )

    def start(self) -> "ResourceSampler":
        """Start sampling."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop sampling and wait for the thread."""
        self._stop.set()
        self._thread.join(timeout=5)


def summarize(
    samples: list[ResourceSample], start: float, end: float
) -> dict[str, float | None]:
    """Return mean and peak figures of the samples taken in a window."""
    window = [s for s in samples if start <= s.at <= end] or samples
    if not window:
        return {}
    total_memory = psutil.virtual_memory().total

    def mean(values: list[float]) -> float:
        return round(sum(values) / len(values), 2)

    return {
        "server_cpu_avg_pct": mean([s.server_cpu_pct for s in window]),
        "server_cpu_max_pct": round(max(s.server_cpu_pct for s in window), 2),
        "server_rss_max_mb": round(max(s.server_rss for s in window) / 2**20, 1),
        "server_memory_max_pct": round(
            100 * max(s.server_rss for s in window) / total_memory, 2
        ),
        "generator_cpu_avg_pct": mean([s.generator_cpu_pct for s in window]),
        "generator_cpu_max_pct": round(max(s.generator_cpu_pct for s in window), 2),
        "generator_rss_max_mb": round(max(s.generator_rss for s in window) / 2**20, 1),
    }
