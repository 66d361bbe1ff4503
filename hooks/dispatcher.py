"""The dispatcher: claims due deliveries, sends them, records attempts, schedules retries.

Any number of dispatchers may run (inside `podium serve`, or as `podium worker`): a claim takes a
lease on each row (FOR UPDATE SKIP LOCKED on PostgreSQL; one IMMEDIATE transaction on SQLite), so
no two dispatchers send the same delivery while a lease holds. If a dispatcher dies, its leases
expire and another sends those deliveries: at-least-once, with a stable webhook-id for receivers
to deduplicate by.
"""

import email.utils
import http.client
import logging
import os
import queue
import random
import socket
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urlsplit

from peewee import Case, fn

from hooks import subscriptions, wakeup
from hooks.egress import EgressDenied, open_connection
from hooks.signing import signed_headers
from registry.metrics import DELIVERY_ATTEMPTS, DELIVERY_LATENCY, WEBHOOKS_DISABLED
from registry.store.db import db, is_sqlite
from registry.store.failures import DATABASE_ERRORS, drop_connection, first_line
from registry.store.statements import create, create_many, save, statement
from registry.store.tables.base import now_ms
from registry.store.tables.webhooks import Delivery, DeliveryAttempt, Webhook

log = logging.getLogger(__name__)

RETRYABLE_STATUSES = {408, 429}  # and every 5xx
# While the database is away the dispatcher looks again after this long, doubling up to the cap.
OUTAGE_BACKOFF_SECONDS = (0.25, 2.0)
MAX_RETRY_AFTER_SECONDS = 24 * 3600
WAKE = object()  # put among the send outcomes to end the loop's wait early
USER_AGENT = "Podium-Webhooks/1"


@dataclass(frozen=True)
class Attempt:
    """What one POST to a receiver came to."""

    response_status: int | None
    duration_ms: int
    error: str = ""
    retry_after: float | None = None
    response_body: str = ""

    @property
    def succeeded(self) -> bool:
        """The one judgement of an answer, for deliveries and the `test` call alike: a 2xx.
        Redirects are never followed, so a 3xx is no success either."""
        return self.response_status is not None and 200 <= self.response_status < 300

    @property
    def retryable(self) -> bool:
        if self.response_status is None:
            return not self.error.startswith("egress denied")
        return self.response_status in RETRYABLE_STATUSES or self.response_status >= 500


def active_secrets(webhook: Webhook, now: int) -> list[str]:
    """The secrets that sign now: the current one, and the previous one during a rotation."""
    keep_previous = webhook.previous_secret and (webhook.previous_secret_expires or 0) > now
    return [webhook.secret, webhook.previous_secret] if keep_previous else [webhook.secret]


class KeptConnections:
    """One sending thread's connections, kept open while receivers allow it (HTTP keep-alive).

    A kept connection stays bound to the address checked when it was opened.
    """

    def __init__(self):
        self.open = {}

    def take(self, url: str, settings: dict) -> tuple:
        """A (connection, reused) pair for `url`'s origin."""
        parts = urlsplit(url)
        connection = self.open.pop((parts.scheme, parts.netloc), None)
        if connection is not None:
            return connection, True
        return _new_connection(url, settings), False

    def keep(self, url: str, connection) -> None:
        parts = urlsplit(url)
        self.open[(parts.scheme, parts.netloc)] = connection


def _new_connection(url: str, settings: dict):
    return open_connection(
        url,
        timeout=settings["PODIUM_WEBHOOK_TIMEOUT"],
        allowed_networks=settings["PODIUM_WEBHOOK_ALLOWED_NETWORKS"],
    )


def send_once(
    webhook: Webhook,
    message_id: str,
    body: str,
    *,
    settings: dict,
    kept: KeptConnections | None = None,
) -> Attempt:
    """POST `body` to the webhook once, signed; never raises, never follows redirects."""
    timestamp = int(time.time())
    headers = signed_headers(message_id, timestamp, body, active_secrets(webhook, now_ms()))
    headers["User-Agent"] = USER_AGENT
    parts = urlsplit(webhook.url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    started = time.monotonic()
    connection, reused = (
        kept.take(webhook.url, settings)
        if kept
        else (_new_connection(webhook.url, settings), False)
    )
    keep_open = False
    try:
        try:
            connection.request("POST", target, body=body.encode(), headers=headers)
            response = connection.getresponse()
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            if not reused:
                raise
            # The receiver closed an idle kept connection; try once on a fresh one.
            connection.close()
            connection = _new_connection(webhook.url, settings)
            connection.request("POST", target, body=body.encode(), headers=headers)
            response = connection.getresponse()
        snippet = response.read(1024).decode("utf-8", "replace")
        # Reuse the connection only if the answer was short and the receiver keeps it open.
        keep_open = kept is not None and not response.will_close and not response.read(1)
        return Attempt(
            response_status=response.status,
            duration_ms=_elapsed_ms(started),
            retry_after=_retry_after(response.getheader("Retry-After")),
            response_body=snippet,
        )
    except EgressDenied as error:
        return Attempt(None, _elapsed_ms(started), f"egress denied: {error}")
    except (OSError, http.client.HTTPException) as error:
        return Attempt(None, _elapsed_ms(started), f"{type(error).__name__}: {error}"[:500])
    finally:
        if keep_open:
            kept.keep(webhook.url, connection)
        else:
            connection.close()


@statement
def _due(now, limit, *, skip_locked=False):
    query = (
        Delivery.select(Delivery.id)
        .join(Webhook)
        .where(
            (Delivery.status == "pending")
            & (Delivery.next_attempt_at <= now)
            & (Delivery.lease_until.is_null() | (Delivery.lease_until < now))
            & (Webhook.status == "ACTIVE")
        )
        .order_by(Delivery.next_attempt_at)
        .limit(limit)
    )
    # PostgreSQL: rows another dispatcher is claiming right now are passed over, not waited for.
    return query.for_update(of=Delivery, skip_locked=True) if skip_locked else query


@statement
def _next_due():
    # When the first pending delivery of an active webhook falls due: its retry time, or the
    # end of the lease another dispatcher holds on it, whichever is later.
    leased_longer = Delivery.lease_until.is_null(False) & (
        Delivery.lease_until > Delivery.next_attempt_at
    )
    due_at = Case(None, [(leased_longer, Delivery.lease_until)], Delivery.next_attempt_at)
    return (
        Delivery.select(fn.MIN(due_at))
        .join(Webhook)
        .where((Delivery.status == "pending") & (Webhook.status == "ACTIVE"))
    )


def seconds_until_due() -> float | None:
    """How long until a pending delivery falls due (0 if one is due); None if none is pending."""
    due_at = _next_due.tuples()[0][0]
    return None if due_at is None else max(0.0, (due_at - now_ms()) / 1000)


@statement
def _lease(ids, until, owner):
    return Delivery.update(lease_until=until, lease_owner=owner).where(Delivery.id.in_(ids))


@statement
def _deliveries(ids):
    return Delivery.select().where(Delivery.id.in_(ids))


@statement
def _webhooks(ids):
    return Webhook.select().where(Webhook.id.in_(ids))


@statement
def _release(owner):
    return Delivery.update(lease_until=None, lease_owner=None).where(
        (Delivery.lease_owner == owner) & (Delivery.status == "pending")
    )


@statement
def _reset_failure_streak(webhook_id):
    return Webhook.update(failure_streak=0).where(
        (Webhook.id == webhook_id) & (Webhook.failure_streak > 0)
    )


def claim_due_deliveries(*, limit: int, owner: str, lease_ms: int) -> list[Delivery]:
    """Lease up to `limit` due deliveries of active webhooks to `owner`, in one transaction."""
    now = now_ms()
    if not _due.tuples(now, 1):  # the idle poll stays a cheap read that takes no write lock
        return []
    with db.atomic():
        due = _due.tuples(now, limit, skip_locked=not is_sqlite())
        ids = [delivery_id for (delivery_id,) in due]
        if not ids:
            return []
        _lease.execute(ids, now + lease_ms, owner)
        deliveries = _deliveries.rows(ids)
        webhooks = {w.id: w for w in _webhooks.rows(list({d.webhook_id for d in deliveries}))}
        for delivery in deliveries:
            delivery.webhook = webhooks[delivery.webhook_id]
        return deliveries


@statement
def _settle_succeeded(ids):
    return Delivery.update(
        status="succeeded",
        attempt_count=Delivery.attempt_count + 1,
        lease_until=None,
        lease_owner=None,
    ).where(Delivery.id.in_(ids))


@statement
def _reset_failure_streaks(webhook_ids):
    return Webhook.update(failure_streak=0).where(
        Webhook.id.in_(webhook_ids) & (Webhook.failure_streak > 0)
    )


SUCCESSES_PER_STATEMENT = 64  # rows one INSERT of attempts binds (5 parameters each)


def record_attempts(outcomes: list[tuple[Delivery, Attempt]], *, settings: dict) -> None:
    """Log attempts, settle deliveries or schedule their retries, track webhooks' health.

    One transaction for the whole batch: a busy dispatcher takes the write lock once per batch,
    not once per delivery. A batch of successes only (a healthy receiver, the usual case) is
    three statements whatever its size; a batch with any failure is recorded delivery by
    delivery, since the order of its outcomes decides each webhook's failure streak.
    """
    with db.atomic():
        if all(attempt.succeeded for _delivery, attempt in outcomes):
            for start in range(0, len(outcomes), SUCCESSES_PER_STATEMENT):
                _record_successes(outcomes[start : start + SUCCESSES_PER_STATEMENT])
            return
        for delivery, attempt in outcomes:
            _record(delivery, attempt, settings)


def _record_successes(outcomes: list[tuple[Delivery, Attempt]]) -> None:
    # Draining a backlog, recording one success at a time was ~30% of the dispatcher's CPU.
    now = now_ms()
    create_many(DeliveryAttempt, [_attempt_row(d, attempt, now) for d, attempt in outcomes])
    _settle_succeeded.execute([delivery.id for delivery, _attempt in outcomes])
    _reset_failure_streaks.execute(sorted({delivery.webhook_id for delivery, _ in outcomes}))
    for delivery, _attempt in outcomes:
        _attempted(delivery)
        delivery.status = "succeeded"


def _attempt_row(delivery: Delivery, attempt: Attempt, now: int) -> dict:
    """The DeliveryAttempt row that logs `attempt`."""
    return {
        "delivery": delivery.id,
        "timestamp": now,
        "response_status": attempt.response_status,
        "duration_ms": attempt.duration_ms,
        "error": attempt.error,
    }


def _attempted(delivery: Delivery) -> None:
    """What every recorded attempt changes on its delivery: one more try, the lease given back."""
    delivery.attempt_count += 1
    delivery.lease_until = delivery.lease_owner = None


# What a recorded attempt came to, by the delivery's status after it.
_OUTCOMES = {"succeeded": "delivered", "pending": "retry", "failed": "failed"}


def count_recorded(outcomes: list[tuple[Delivery, Attempt]]) -> None:
    """Count attempts once their record committed (a rolled-back batch is tried again)."""
    now = now_ms()
    for delivery, _attempt in outcomes:
        DELIVERY_ATTEMPTS.labels(_OUTCOMES[delivery.status]).inc()
        if delivery.status == "succeeded":
            DELIVERY_LATENCY.observe(max(0, now - delivery.created_at) / 1000)


def _record(delivery: Delivery, attempt: Attempt, settings: dict) -> None:
    now = now_ms()
    schedule = settings["PODIUM_WEBHOOK_RETRY_SCHEDULE"]
    create(DeliveryAttempt, **_attempt_row(delivery, attempt, now))
    _attempted(delivery)
    if attempt.succeeded:
        delivery.status = "succeeded"
        settled = Delivery.status
    elif attempt.retryable and delivery.attempt_count <= len(schedule):
        delivery.next_attempt_at = now + _retry_delay_ms(
            schedule[delivery.attempt_count - 1], attempt.retry_after
        )
        settled = Delivery.next_attempt_at
    else:
        delivery.status = "failed"
        settled = Delivery.status
    save(delivery, Delivery.attempt_count, Delivery.lease_until, Delivery.lease_owner, settled)
    _track_health(delivery.webhook_id, attempt, settings)


def _track_health(webhook_id: str, attempt: Attempt, settings: dict) -> None:
    if attempt.succeeded:
        _reset_failure_streak.execute(webhook_id)
        return
    if attempt.response_status == 410:
        _disable(webhook_id, "the receiver answered 410 Gone")
        return
    Webhook.update(failure_streak=Webhook.failure_streak + 1).where(
        Webhook.id == webhook_id
    ).execute()
    streak = Webhook.get_by_id(webhook_id).failure_streak
    if streak >= settings["PODIUM_WEBHOOK_DISABLE_AFTER"]:
        _disable(webhook_id, f"{streak} consecutive failed deliveries; last: {_describe(attempt)}")


def _disable(webhook_id: str, reason: str) -> None:
    log.warning("disabling webhook %s: %s", webhook_id, reason)
    WEBHOOKS_DISABLED.inc()
    Webhook.update(
        status="DISABLED", disabled_reason=reason, last_updated_timestamp=now_ms()
    ).where(Webhook.id == webhook_id).execute()
    subscriptions.changed()


def _describe(attempt: Attempt) -> str:
    if attempt.response_status is not None:
        return f"HTTP {attempt.response_status}"
    return attempt.error


def _retry_delay_ms(seconds: float, retry_after: float | None) -> int:
    delay = seconds * random.uniform(0.8, 1.2)  # jitter: retries from one outage spread out
    if retry_after is not None:
        delay = max(delay, min(retry_after, MAX_RETRY_AFTER_SECONDS))
    return int(delay * 1000)


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        return max(0.0, email.utils.parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def _elapsed_ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


class Dispatcher:
    """Claims and sends deliveries until stopped, with at most `concurrency` in flight.

    Only the loop thread touches the database (claims, and recording outcomes in batches);
    the pool threads only send. SQLite writers in one process would otherwise queue on its
    busy handler, which sleeps in steps of milliseconds.

    A database failure is an outage to wait out, not a reason to stop: the connection is
    dropped (the next cycle opens a new one), outcomes not yet recorded are kept for the next
    try, and the loop backs off, logging one line when the database goes and one when it is back.

    An idle dispatcher sleeps until the first pending delivery falls due (a retry, an expired
    lease) or a commit wakes it (hooks.wakeup), and looks anyway every PODIUM_DISPATCH_POLL_MS.
    """

    def __init__(self, settings: dict):
        self.settings = settings
        self.concurrency = settings["PODIUM_DISPATCH_CONCURRENCY"]
        self.poll_seconds = settings["PODIUM_DISPATCH_POLL_MS"] / 1000
        # A lease outlives the longest send, so a live dispatcher never loses a row it holds.
        self.lease_ms = int((settings["PODIUM_WEBHOOK_TIMEOUT"] * 3 + 5) * 1000)
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.in_flight = 0
        self.outcomes = queue.Queue()  # (delivery, attempt) from the sending threads, or WAKE
        self.woken = threading.Event()  # a WAKE is in the queue: more would add nothing
        self.idle_seconds = self.poll_seconds  # how long to sleep when nothing was claimed
        self.local = threading.local()  # each sending thread's KeptConnections
        self.stopping = threading.Event()
        self.unrecorded = []  # outcomes whose recording a database failure interrupted
        self.outage_since = None  # monotonic time the database was lost, while it is
        self.backoff = 0.0

    def run(self) -> None:
        """Dispatch until stop() is called; in-flight sends are recorded before it returns."""
        log.info("webhook dispatcher %s started", self.owner)
        try:
            db.connect(reuse_if_open=True)
        except DATABASE_ERRORS as error:  # the first claim tries again
            self._database_failed(error)
        listener = wakeup.Listener(self.wake)
        if not listener.start():
            log.info("no wake-up channel: looking for deliveries every %.3f s", self.poll_seconds)
        with ThreadPoolExecutor(self.concurrency, thread_name_prefix="delivery") as pool:
            while not self.stopping.is_set() or self.in_flight:
                self._record_finished()
                claimed = [] if self.stopping.is_set() else self._claim()
                for delivery in claimed:
                    self.in_flight += 1
                    pool.submit(self._send, delivery)
                if self.outage_since is not None:
                    self._wait_out_outage()
                elif not claimed:
                    self._wait_for_outcome(self.idle_seconds)
        listener.stop()
        if self.unrecorded:  # the database never came back: their leases expire, they resend
            log.warning("stopping with %d delivery attempts unrecorded", len(self.unrecorded))
        else:
            self._release_leases()
        log.info("webhook dispatcher %s stopped", self.owner)

    def stop(self) -> None:
        self.stopping.set()
        self.wake()

    def wake(self) -> None:
        """Have the loop look for due deliveries now (from any thread)."""
        if not self.woken.is_set():
            self.woken.set()
            self.outcomes.put(WAKE)

    def _release_leases(self) -> None:
        # Every send was recorded, so any lease still held names a row this dispatcher will
        # not send: give it back, for another dispatcher to take at once, not at expiry.
        try:
            with db.atomic():
                released = _release.execute(self.owner)
        except DATABASE_ERRORS as error:
            log.warning("could not release leases (%s); they expire", first_line(error))
            return
        if released:
            log.info("released %d leased deliveries", released)

    def _batch(self) -> int:
        # While sends are in flight, claims and records wait until half the slots' worth is
        # ready, rather than taking one row at a time: each is a write transaction (about
        # 0.4 ms on SQLite), and one claim plus one record per delivery capped a drain of a
        # backlog at about 1,000 deliveries/s (bench/run.py --only webhooks).
        return max(1, self.concurrency // 2)

    def _claim(self) -> list[Delivery]:
        free = self.concurrency - self.in_flight
        if free <= 0 or (self.in_flight and free < self._batch()):
            self.idle_seconds = self.poll_seconds  # a finishing send ends the wait
            return []
        if self.outage_since is not None and self.unrecorded:
            return []  # in an outage, recording what was sent is the first thing to get through
        try:
            claimed = claim_due_deliveries(limit=free, owner=self.owner, lease_ms=self.lease_ms)
            if not claimed:
                due_in = seconds_until_due()
                self.idle_seconds = self.poll_seconds if due_in is None else due_in
                # Not longer than the safety poll, and never a busy loop on a lease ending now.
                self.idle_seconds = min(max(self.idle_seconds, 0.001), self.poll_seconds)
        except DATABASE_ERRORS as error:
            self._database_failed(error)
            return []
        except Exception:
            log.exception("claiming deliveries failed; retrying")
            return []
        self._database_answered()
        return claimed

    def _database_failed(self, error: Exception) -> None:
        drop_connection()
        if self.outage_since is None:
            self.outage_since = time.monotonic()
            self.backoff = OUTAGE_BACKOFF_SECONDS[0]
            log.warning(
                "webhook dispatcher %s lost the database (%s); retrying with backoff",
                self.owner,
                first_line(error),
            )
        else:
            self.backoff = min(self.backoff * 2, OUTAGE_BACKOFF_SECONDS[1])

    def _database_answered(self) -> None:
        if self.outage_since is not None:
            log.warning(
                "webhook dispatcher %s has the database back after %.1f s; dispatching",
                self.owner,
                time.monotonic() - self.outage_since,
            )
            self.outage_since = None

    def _wait_out_outage(self) -> None:
        # Sends in flight still finish meanwhile; their outcomes wait in the queue. Once
        # stopping, only those sends are waited for.
        if self.stopping.is_set():
            self._wait_for_outcome()
        else:
            self.stopping.wait(self.backoff)

    def _send(self, delivery: Delivery) -> None:
        if not hasattr(self.local, "kept"):
            self.local.kept = KeptConnections()
        try:
            attempt = send_once(
                delivery.webhook,
                delivery.id,
                delivery.body,
                settings=self.settings,
                kept=self.local.kept,
            )
        except Exception as error:  # a bug, but the delivery must still be accounted for
            log.exception("sending delivery %s failed", delivery.id)
            attempt = Attempt(None, 0, f"internal error: {type(error).__name__}")
        self.outcomes.put((delivery, attempt))

    def _wait_for_outcome(self, timeout: float | None = None) -> None:
        """Sleep until a send finishes, a wake-up comes or `timeout` (the poll) passes."""
        try:
            self.outcomes.put(self.outcomes.get(timeout=timeout or self.poll_seconds))
        except queue.Empty:
            pass

    def _record_finished(self) -> None:
        finished = []
        while True:
            try:
                outcome = self.outcomes.get_nowait()
            except queue.Empty:
                break
            if outcome is WAKE:
                self.woken.clear()
            else:
                finished.append(outcome)
        self.in_flight -= len(finished)
        self.unrecorded.extend(finished)
        if not self.unrecorded:
            return
        if self.in_flight and len(self.unrecorded) < self._batch() and not self.stopping.is_set():
            return  # more outcomes are coming: record them together
        try:
            record_attempts(self.unrecorded, settings=self.settings)
        except DATABASE_ERRORS as error:
            # Kept for the next try; should the leases expire first, they are sent again
            # (at least once, with the same webhook-id).
            self._database_failed(error)
            return
        except Exception:
            # Not recorded: the leases expire and these deliveries are sent again (at least once).
            log.exception("recording %d delivery attempts failed", len(self.unrecorded))
        else:
            count_recorded(self.unrecorded)
        self.unrecorded = []
        self._database_answered()
