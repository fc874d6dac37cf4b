"""Locust users and load shape behind ``manage.py loadtest``.

Run by the command as ``python -m locust -f <this file> --plan-file PLAN``;
it imports no Django. The plan (scenario, user ids and their pre-minted
tokens, where to write the result) comes from the plan file on the master
or a single process, and from the master over Locust's message channel on a
worker, so workers on other machines need nothing but this file.

Arrivals follow a fixed schedule: simulated user ``i`` of ``N`` sends at
``start + (i/N + k) * N/target_rps``, so together they send ``target_rps``
turns a second. A user still busy when one of its slots passes (plus a
small tolerance) skips that slot and counts it as missed: the run reports
what it could not send instead of quietly sending less.
"""

import json
import random
import string
import sys
import time
from itertools import count
from typing import Any

import gevent
from gevent.event import Event
from locust import FastHttpUser, LoadTestShape, events, task
from locust.runners import MasterRunner, WorkerRunner

from perfdash.loadtests.aggregate import CHAT, RunAggregate, Sample
from perfdash.loadtests.isolation import count_foreign, marker_for
from perfdash.loadtests.pacing import ArrivalSchedule
from perfdash.loadtests.scenario import Scenario

PLAN: dict[str, Any] = {}
_plan_ready = Event()
_identities = count()
_samples: list[Sample] = []
_missed: list[float] = []
_state: dict[str, Any] = {"epoch": None, "aggregate": None}


def _scenario() -> Scenario:
    return Scenario.from_dict(PLAN["scenario"])


@events.init_command_line_parser.add_listener
def _add_arguments(parser: Any) -> None:
    parser.add_argument("--plan-file", default="", help="Plan written by loadtest")


def _drain() -> tuple[list[Sample], list[float]]:
    samples, missed = _samples[:], _missed[:]
    del _samples[:], _missed[:]
    return samples, missed


@events.init.add_listener
def _on_init(environment: Any, **kwargs: Any) -> None:
    runner = environment.runner
    if isinstance(runner, WorkerRunner):

        def receive_plan(environment: Any, msg: Any, **kw: Any) -> None:
            PLAN.update(msg.data)
            _plan_ready.set()

        runner.register_message("loadtest_plan", receive_plan)
        runner.send_message("loadtest_plan_request", None)

        @events.report_to_master.add_listener
        def attach(client_id: str, data: dict[str, Any]) -> None:
            samples, missed = _drain()
            data["loadtest"] = {"samples": samples, "missed": missed}

        return

    with open(environment.parsed_options.plan_file, encoding="utf-8") as fh:
        PLAN.update(json.load(fh))
    _plan_ready.set()
    if isinstance(runner, MasterRunner):
        workers = max(1, environment.parsed_options.expect_workers or 1)

        def send_plan(environment: Any, msg: Any, **kw: Any) -> None:
            index = runner.get_worker_index(msg.node_id)
            # Each worker gets its own slice of the users, so no two
            # workers ever speak as the same user.
            part = dict(PLAN, users=PLAN["users"][index % workers :: workers])
            runner.send_message("loadtest_plan", part, client_id=msg.node_id)

        runner.register_message("loadtest_plan_request", send_plan)

        @events.worker_report.add_listener
        def merge(client_id: str, data: dict[str, Any]) -> None:
            report = data.get("loadtest")
            if report and _state["aggregate"] is not None:
                _state["aggregate"].add_samples(report["samples"])
                _state["aggregate"].add_missed(report["missed"])


@events.test_start.add_listener
def _on_test_start(environment: Any, **kwargs: Any) -> None:
    _state["epoch"] = time.time()
    if isinstance(environment.runner, WorkerRunner):
        return
    scenario = _scenario()
    aggregate = RunAggregate(
        started=_state["epoch"],
        ramp_up=scenario.ramp_up,
        duration=scenario.duration,
        interval=float(PLAN.get("interval_seconds", 5)),
    )
    _state["aggregate"] = aggregate
    gevent.spawn(_report_progress, environment, aggregate, scenario)


def _report_progress(
    environment: Any, aggregate: RunAggregate, scenario: Scenario
) -> None:
    every = float(PLAN.get("progress_seconds", 5))
    # Bounded by the run's length, with room for the last in-flight requests.
    for _ in range(int((scenario.ramp_up + scenario.duration) / every) + 5):
        gevent.sleep(every)
        if not isinstance(environment.runner, MasterRunner):
            samples, missed = _drain()
            aggregate.add_samples(samples)
            aggregate.add_missed(missed)
        print(aggregate.progress(time.time()), flush=True)


@events.quitting.add_listener
def _on_quitting(environment: Any, **kwargs: Any) -> None:
    aggregate: RunAggregate | None = _state["aggregate"]
    if aggregate is None or isinstance(environment.runner, WorkerRunner):
        return
    samples, missed = _drain()
    aggregate.add_samples(samples)
    aggregate.add_missed(missed)
    scenario = _scenario()
    result = {
        "started": aggregate.started,
        "finished": time.time(),
        "summary": aggregate.summary(scenario.thresholds.percentiles),
        "series": aggregate.series(),
    }
    with open(PLAN["result_file"], "w", encoding="utf-8") as fh:
        json.dump(result, fh)


class ChatUser(FastHttpUser):
    """A user who chats on the arrival schedule with a token minted beforehand."""

    def on_start(self) -> None:
        if not _plan_ready.wait(timeout=60):
            sys.stderr.write("loadtest: no plan received from the master\n")
            raise gevent.GreenletExit
        scenario = _scenario()
        users = PLAN["users"]
        slot = next(_identities)
        self.user_id, token = users[slot % len(users)]
        # A user sends every few seconds, about as long as a server keeps an
        # idle connection (gunicorn: 2 s): reusing one races its close and
        # fails the request before it is sent. A fresh connection per turn
        # is also what clients this sparse do.
        self.auth = {"Authorization": f"Bearer {token}", "Connection": "close"}
        self.turns_per_conversation = scenario.turns_per_conversation
        self.history_every = scenario.history_every
        self.check = scenario.isolation_check
        self.filler = "".join(
            random.choices(string.ascii_lowercase + " ", k=scenario.message_chars)
        )
        self.conversation_id: Any = None
        self.turn_number = 0
        # Spread the users evenly over one interval on a shared grid.
        count_users = len(users)
        self.schedule = ArrivalSchedule(
            epoch=_state["epoch"] or time.time(),
            phase=(slot % count_users) / count_users,
            interval=scenario.user_interval,
            tolerance=float(PLAN.get("late_tolerance_seconds", 0.25)),
            now=time.time(),
        )

        # Before the first slot nothing is in flight, so a stop may cut in.
        gevent.sleep(self.wait_time())

    def wait_time(self) -> float:
        """Return the seconds until this user's next slot, noting skipped ones.

        Locust sleeps this long between tasks, where a graceful stop ends the
        user at once; a request in flight is left to finish (--stop-timeout).
        """
        now = time.time()
        due, missed = self.schedule.next_slot(now)
        _missed.extend(missed)
        return max(0.0, due - now)

    def _record(
        self, started: float, began: float, name: str, foreign: int, error: str
    ) -> None:
        latency_ms = (time.perf_counter() - began) * 1000
        _samples.append((started, latency_ms, 0 if error else 1, name, foreign, error))

    @task
    def chat_turn(self) -> None:
        if self.turn_number % self.turns_per_conversation == 0:
            self.conversation_id = None
        self.turn_number += 1
        marker = marker_for(self.user_id)
        body: dict[str, Any] = {
            "message": f"{marker} turn {self.turn_number} {self.filler}"
        }
        if self.conversation_id is not None:
            body["conversation_id"] = self.conversation_id

        started, began = time.time(), time.perf_counter()
        with self.client.post(
            f"/api/{self.user_id}/chat",
            json=body,
            headers=self.auth,
            name=CHAT,
            catch_response=True,
        ) as response:
            ok, foreign, error = self._judge(response)
            self._record(started, began, CHAT, foreign, error)
        if ok:
            self.conversation_id = _conversation_id(response.json())
        if (
            ok
            and self.history_every
            and self.conversation_id is not None
            and self.turn_number % self.history_every == 0
        ):
            self._read_history()

    def _read_history(self) -> None:
        started, began = time.time(), time.perf_counter()
        with self.client.get(
            f"/api/{self.user_id}/conversations/{self.conversation_id}/messages",
            headers=self.auth,
            name="history",
            catch_response=True,
        ) as response:
            ok, foreign, error = self._judge(response)
            self._record(started, began, "history", foreign, error)

    def _judge(self, response: Any) -> tuple[bool, int, str]:
        status = response.status_code or 0
        if not 200 <= status < 300:
            error = f"status {status}" if status else f"{response.error!r}"[:120]
            response.failure(error)
            return False, -1, error
        text = response.text or ""
        foreign = count_foreign(text, self.user_id) if self.check else -1
        if foreign > 0:
            response.failure("response holds another user's messages")
            return False, foreign, "foreign messages"
        response.success()
        return True, foreign, ""


def _conversation_id(data: Any) -> Any:
    if not isinstance(data, dict):
        return None
    if "conversation_id" in data:
        return data["conversation_id"]
    conversation = data.get("conversation")
    if isinstance(conversation, dict):
        return conversation.get("id")
    return conversation


class RampThenHold(LoadTestShape):
    """Spawn the users evenly over the ramp, hold them, then stop."""

    def tick(self) -> tuple[int, float] | None:
        scenario = _scenario()
        if self.get_run_time() >= scenario.ramp_up + scenario.duration:
            return None
        rate = (
            scenario.user_count / scenario.ramp_up
            if scenario.ramp_up
            else scenario.user_count
        )
        return (scenario.user_count, rate)
