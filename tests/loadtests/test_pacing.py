"""The arrival schedule: on-time slots are sent, late ones counted as missed."""

import pytest

from perfdash.loadtests.pacing import ArrivalSchedule


def test_users_are_spread_over_the_interval_by_phase() -> None:
    starts = [
        ArrivalSchedule(
            epoch=0.0, phase=i / 4, interval=2.0, tolerance=0.1, now=0.0
        ).next_slot(0.0)[0]
        for i in range(4)
    ]

    assert starts == [0.0, 0.5, 1.0, 1.5]


def test_a_user_that_keeps_up_sends_every_slot() -> None:
    schedule = ArrivalSchedule(epoch=0.0, phase=0.0, interval=1.0, tolerance=0.1, now=0)

    slots = [schedule.next_slot(now) for now in (0.0, 0.9, 2.05, 2.5)]

    assert slots == [(0.0, []), (1.0, []), (2.0, []), (3.0, [])]


def test_a_slow_answer_makes_the_passed_slots_missed_not_late() -> None:
    schedule = ArrivalSchedule(epoch=0.0, phase=0.0, interval=1.0, tolerance=0.1, now=0)
    schedule.next_slot(0.0)

    # The first answer came back after 3.5 s: slots 1, 2 and 3 have passed.
    due, missed = schedule.next_slot(3.5)

    assert missed == [1.0, 2.0, 3.0]
    assert due == pytest.approx(4.0)


def test_slots_before_a_user_was_spawned_are_not_missed() -> None:
    schedule = ArrivalSchedule(
        epoch=0.0, phase=0.5, interval=2.0, tolerance=0.1, now=7.2
    )

    assert schedule.next_slot(7.2) == (9.0, [])


def test_a_slot_passed_while_spawning_is_still_sent() -> None:
    schedule = ArrivalSchedule(
        epoch=0.0, phase=0.0, interval=1.0, tolerance=0.1, now=0.05
    )

    assert schedule.next_slot(0.05) == (0.0, [])
