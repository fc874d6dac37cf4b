"""Evaluate alert rules and send their emails, each step claimed in the database.

The flow of one tick: claim the tick (a row with a unique time), read every
rule's metric over its window, decide each rule's next state, and for a
change store a transition under a unique ``(rule, version)`` while moving the
rule state by compare-and-set. Notifications are rows with a unique
``dedupe_key``, created in the same transaction and sent after it commits;
sending claims the row (pending -> sending) first, so an email goes out at
most once whatever runs twice.
"""

import logging
import smtplib
import uuid
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from perfdash.alerts import emails, metrics, selectors
from perfdash.alerts.metrics import Reading
from perfdash.alerts.models import (
    Comparison,
    Notification,
    Rule,
    RuleState,
    Silence,
    State,
    Tick,
    Transition,
)

logger = logging.getLogger(__name__)

# A notification whose sending failed is tried again on later ticks, this
# many times in all, then left failed for an operator to see.
MAX_ATTEMPTS = 3
# Ticks only show the evaluator's health; transitions keep the history.
TICK_RETENTION = timedelta(days=7)


def tick_time(now: datetime) -> datetime:
    """Return the tick that ``now`` falls in: now floored to the tick length."""
    seconds = float(settings.ALERTS["TICK_SECONDS"])
    epoch = now.timestamp()
    return datetime.fromtimestamp(epoch - epoch % seconds, tz=UTC)


def decide(
    *, rule: Rule, state: str, since: datetime, reading: Reading, at: datetime
) -> str:
    """Return the state a rule in ``state`` since ``since`` moves to at ``at``."""
    value = reading.value
    if value is None or reading.samples < rule.min_samples:
        # An open incident closes only on evidence of recovery, not because
        # traffic stopped: a resolved email then would be a guess.
        return State.FIRING if state == State.FIRING else State.NO_DATA

    above = rule.comparison == Comparison.ABOVE
    if state == State.FIRING:
        recovery = rule.recovery_value
        recovered = value <= recovery if above else value >= recovery
        return State.RESOLVED if recovered else State.FIRING

    breaching = value > rule.threshold if above else value < rule.threshold
    if breaching:
        started = since if state == State.PENDING else at
        return State.FIRING if at - started >= rule.pending_for else State.PENDING
    if state == State.RESOLVED:
        return State.RESOLVED
    return State.OK


def run_tick(*, now: datetime | None = None, hostname: str = "") -> Tick | None:
    """Claim the tick ``now`` falls in and evaluate every enabled rule once."""
    at = tick_time(now or timezone.now())
    try:
        with transaction.atomic():
            tick = Tick.objects.create(
                at=at, started_at=timezone.now(), hostname=hostname[:255]
            )
    except IntegrityError:
        logger.info("Alert tick %s already claimed; skipping", at.isoformat())
        return None

    evaluated = evaluate_rules(at=at)
    retry_notifications(at=at)

    Tick.objects.filter(pk=tick.pk).update(
        finished_at=timezone.now(), rules_evaluated=evaluated
    )
    Tick.objects.filter(at__lt=at - TICK_RETENTION).delete()
    return tick


def evaluate_rules(*, at: datetime) -> int:
    """Judge every enabled rule at ``at``; return how many were judged.

    Safe to run concurrently for the same ``at``: each transition is claimed
    by its unique version, so a second evaluator changes and sends nothing.
    """
    rules = list(Rule.objects.filter(enabled=True))
    if not rules:
        return 0
    states = {s.rule_id: s for s in RuleState.objects.filter(rule__in=rules)}
    if len(states) < len(rules):
        RuleState.objects.bulk_create(
            [RuleState(rule=r, state=State.OK, since=at) for r in rules],
            ignore_conflicts=True,
        )
        states = {s.rule_id: s for s in RuleState.objects.filter(rule__in=rules)}
    silenced = selectors.silenced_rule_ids(at=at)
    readings = metrics.read_many({(rule.metric, rule.window) for rule in rules}, end=at)

    # One write per rule: each is its own compare-and-set.
    still_firing = []
    for rule in rules:
        incident_id = _evaluate_rule(
            rule=rule,
            state=states[rule.pk],
            reading=readings[(rule.metric, rule.window)],
            at=at,
            silenced=rule.pk in silenced,
        )
        if incident_id is not None and rule.pk not in silenced:
            still_firing.append(incident_id)
    _release_silenced(incident_ids=still_firing)
    return len(rules)


def _evaluate_rule(
    *, rule: Rule, state: RuleState, reading: Reading, at: datetime, silenced: bool
) -> int | None:
    """Judge one rule; return its open incident's id if it stays firing."""
    if state.evaluated_at is not None and state.evaluated_at >= at:
        return None  # another evaluator has judged this tick, or a later one
    new_state = decide(
        rule=rule, state=state.state, since=state.since, reading=reading, at=at
    )
    if new_state == state.state:
        RuleState.objects.filter(pk=rule.pk, version=state.version).update(
            value=reading.value, sample_count=reading.samples, evaluated_at=at
        )
        if new_state != State.FIRING:
            return None
        if not silenced:
            _remind(rule=rule, state=state, at=at)
        return state.incident_id

    try:
        with transaction.atomic():
            transition = _record_transition(
                rule=rule,
                state=state,
                new_state=new_state,
                reading=reading,
                at=at,
                silenced=silenced,
            )
    except IntegrityError:
        transition = None
    if transition is None:
        logger.info(
            "Alert rule %s: transition at %s already taken by another evaluator",
            rule.name,
            at.isoformat(),
        )
        return None
    logger.info(
        "Alert rule %s: %s -> %s (value %s, %d samples)",
        rule.name,
        transition.from_state,
        transition.to_state,
        reading.value,
        reading.samples,
    )
    return None


def _record_transition(
    *,
    rule: Rule,
    state: RuleState,
    new_state: str,
    reading: Reading,
    at: datetime,
    silenced: bool,
) -> Transition | None:
    """Store one transition and its notification; caller holds a transaction."""
    # The unique (rule, version) insert is the claim: a concurrent evaluator
    # blocks on it and then fails with IntegrityError.
    transition = Transition.objects.create(
        rule=rule,
        version=state.version + 1,
        from_state=state.state,
        to_state=new_state,
        at=at,
        value=reading.value,
        sample_count=reading.samples,
        window_start=metrics.window_start(end=at, window=rule.window),
        window_end=at,
        previous_duration=max(at - state.since, timedelta(0)),
        threshold=rule.threshold,
        recovery_threshold=rule.recovery_value,
    )
    incident_id = state.incident_id
    if new_state == State.FIRING:
        incident_id = transition.pk
    elif new_state == State.RESOLVED:
        incident_id = None
    moved = RuleState.objects.filter(pk=rule.pk, version=state.version).update(
        state=new_state,
        since=at,
        value=reading.value,
        sample_count=reading.samples,
        evaluated_at=at,
        version=F("version") + 1,
        incident_id=incident_id,
    )
    if moved != 1:
        transaction.set_rollback(True)
        return None

    if new_state == State.FIRING:
        _queue(
            rule=rule,
            kind=Notification.Kind.FIRING,
            dedupe_key=f"firing:{transition.pk}",
            transition=transition,
            incident_id=transition.pk,
            at=at,
            status=(
                Notification.Status.SILENCED
                if silenced
                else Notification.Status.PENDING
            ),
        )
    elif new_state == State.RESOLVED and state.incident_id is not None:
        _queue_resolved(
            rule=rule, transition=transition, incident_id=state.incident_id, at=at
        )
    return transition


def _queue_resolved(
    *, rule: Rule, transition: Transition, incident_id: int, at: datetime
) -> None:
    # A resolved email answers a firing one; when nobody was told of the
    # incident (silenced throughout), telling them it ended is noise.
    told = Notification.objects.filter(
        incident_id=incident_id,
        kind=Notification.Kind.FIRING,
        status=Notification.Status.SENT,
    ).first()
    _queue(
        rule=rule,
        kind=Notification.Kind.RESOLVED,
        dedupe_key=f"resolved:{transition.pk}",
        transition=transition,
        incident_id=incident_id,
        at=at,
        in_reply_to=told.message_id if told else "",
        status=Notification.Status.PENDING if told else Notification.Status.SKIPPED,
    )


def _remind(*, rule: Rule, state: RuleState, at: datetime) -> None:
    if rule.repeat_interval is None or state.incident_id is None:
        return
    if rule.repeat_interval <= timedelta(0):
        return
    # Only the reminder due now is ever sent: after an outage or a restart,
    # missed reminders are not replayed.
    number = (at - state.since) // rule.repeat_interval
    if number < 1:
        return
    key = f"reminder:{state.incident_id}:{number}"
    if Notification.objects.filter(dedupe_key=key).exists():
        return
    firing = Notification.objects.filter(
        incident_id=state.incident_id, kind=Notification.Kind.FIRING
    ).first()
    if firing is None or firing.status != Notification.Status.SENT:
        return
    try:
        with transaction.atomic():
            _queue(
                rule=rule,
                kind=Notification.Kind.REMINDER,
                dedupe_key=key,
                transition=None,
                incident_id=state.incident_id,
                at=at,
                in_reply_to=firing.message_id,
            )
    except IntegrityError:
        pass  # already queued by another evaluator: the key is the claim


def _release_silenced(*, incident_ids: list[int]) -> None:
    """Send firing emails held by a silence that ended while still firing."""
    if not incident_ids:
        return
    held = Notification.objects.filter(
        incident_id__in=incident_ids,
        kind=Notification.Kind.FIRING,
        status=Notification.Status.SILENCED,
    )
    for notification_id in list(held.values_list("pk", flat=True)):
        released = Notification.objects.filter(
            pk=notification_id, status=Notification.Status.SILENCED
        ).update(status=Notification.Status.PENDING)
        if released:
            _send_on_commit(notification_id)


def _queue(
    *,
    rule: Rule,
    kind: str,
    dedupe_key: str,
    transition: Transition | None,
    incident_id: int | None,
    at: datetime,
    in_reply_to: str = "",
    status: str = Notification.Status.PENDING,
) -> Notification:
    """Record a notification and send it once the transaction commits."""
    notification = Notification.objects.create(
        rule=rule,
        kind=kind,
        dedupe_key=dedupe_key,
        transition=transition,
        incident_id=incident_id,
        message_id=new_message_id(),
        in_reply_to=in_reply_to,
        status=status,
        created_at=at,
    )
    if status == Notification.Status.PENDING:
        _send_on_commit(notification.pk)
    return notification


def _send_on_commit(notification_id: int) -> None:
    transaction.on_commit(lambda: deliver_notification(notification_id=notification_id))


def new_message_id() -> str:
    """Return a fresh RFC 5322 Message-ID in the site's domain."""
    return f"<alert.{uuid.uuid4().hex}@{emails.site_domain()}>"


def deliver_notification(*, notification_id: int) -> bool:
    """Claim a pending notification and email it; return whether it went out."""
    claimed = Notification.objects.filter(
        pk=notification_id,
        status__in=[Notification.Status.PENDING, Notification.Status.FAILED],
        attempts__lt=MAX_ATTEMPTS,
    ).update(status=Notification.Status.SENDING, attempts=F("attempts") + 1)
    if not claimed:
        return False

    notification = Notification.objects.select_related(
        "rule", "transition", "incident"
    ).get(pk=notification_id)
    recipients = selectors.recipient_emails(rule=notification.rule)
    if not recipients:
        logger.warning(
            "Alert rule %s: no recipients with an email address",
            notification.rule.name,
        )
        _finish(notification, Notification.Status.FAILED, error="no recipients")
        return False
    message = emails.build_message(notification=notification, recipients=recipients)
    try:
        message.send()
    except (smtplib.SMTPException, OSError) as exc:
        logger.warning(
            "Alert rule %s: %s email %s failed: %s",
            notification.rule.name,
            notification.kind,
            notification.pk,
            exc.__class__.__name__,
        )
        _finish(notification, Notification.Status.FAILED, error=str(exc)[:500])
        return False

    _finish(
        notification,
        Notification.Status.SENT,
        recipients=recipients,
        subject=str(message.subject)[:255],
    )
    logger.info(
        "Alert rule %s: %s email %s sent to %d recipients",
        notification.rule.name,
        notification.kind,
        notification.pk,
        len(recipients),
    )
    return True


def _finish(
    notification: Notification,
    status: str,
    *,
    error: str = "",
    recipients: list[str] | None = None,
    subject: str = "",
) -> None:
    fields: dict[str, object] = {"status": status, "error": error}
    if status == Notification.Status.SENT:
        fields.update(sent_at=timezone.now(), recipients=recipients, subject=subject)
    Notification.objects.filter(pk=notification.pk).update(**fields)


def retry_notifications(*, at: datetime) -> int:
    """Send notifications left pending or failed by a crash or an SMTP error."""
    # Only rows from earlier ticks: this tick's own are sent on commit. A test
    # email is the admin's to resend, not the evaluator's.
    ids = list(
        Notification.objects.filter(
            status__in=[Notification.Status.PENDING, Notification.Status.FAILED],
            attempts__lt=MAX_ATTEMPTS,
            created_at__lt=at,
        )
        .exclude(kind=Notification.Kind.TEST)
        .values_list("pk", flat=True)[:50]
    )
    return sum(deliver_notification(notification_id=pk) for pk in ids)


def send_test_email(*, rule: Rule) -> Notification:
    """Email a rule's recipients a sample alert now; return the notification."""
    now = timezone.now()
    notification = Notification.objects.create(
        rule=rule,
        kind=Notification.Kind.TEST,
        dedupe_key=f"test:{rule.pk}:{uuid.uuid4().hex}",
        message_id=new_message_id(),
        created_at=now,
    )
    deliver_notification(notification_id=notification.pk)
    notification.refresh_from_db()
    return notification


def silence_rule(
    *,
    rule: Rule,
    minutes: int,
    source: str,
    user_id: int | None = None,
    reason: str = "",
    now: datetime | None = None,
) -> Silence:
    """Mute a rule's emails for ``minutes`` from now."""
    starts = now or timezone.now()
    silence = Silence(
        rule=rule,
        starts_at=starts,
        ends_at=starts + timedelta(minutes=minutes),
        source=source,
        created_by_id=user_id,
        reason=reason,
    )
    silence.full_clean()
    silence.save()
    logger.info("Alert rule %s silenced for %d minutes", rule.name, minutes)
    return silence
