"""The alert engine: check evaluations in, incidents tracked, messages queued in a persistent outbox,
delivered with retries so that no alert is lost and none is sent twice.

Two steps, each called by the sensor on every tick with the current time:

``ingest(evaluations, now)`` runs in one transaction under the ingest lock. Per evaluation, oldest
record first; a record at or below the last one ingested for its (model, check, day) is skipped,
so handing over the same records again changes nothing.

- A failed evaluation of a (model, check, day) without an open incident opens one. Its routes are
  those of the monitor whose ``min_severity`` the check's severity reaches. Suppressed instead
  (recorded, no message) when the same (model, check) had an *announced* recovery on a partition
  day less than ``cooldown_days`` away from this one: ``|day - recovery day| < cooldown_days``.
  Days are partition days, so a backfill behaves like the same days run one by one; 0 disables it.
  Only announced recoveries count, so a check that keeps flapping is not silenced for good: once
  no announced recovery is that close, its next failure pages again.
- A passed evaluation of day P closes every open incident of the same (model, check) on a day
  <= P: the check passes again (a re-run of the same day, or the next day's data). Its recovery is
  announced to the routes the failures went to; suppressed failures close silently.
- Messages group per model-day and route: one FAILED message lists the checks newly failed in this
  ingest (a later ingest sends a follow-up naming only the new ones); one RECOVERED message per
  model and passing day names the checks that pass again and the days they had failed.

``deliver_due(channels, now)`` sends pending messages whose ``next_attempt_at`` has come, oldest
first and in order per (model, channel, recipients): a message waits while an older one of its
group is pending, so a recovery never overtakes its failure. Each message is claimed (a token and
an expiry, set by an UPDATE whose row count says who won) so concurrent deliverers never both send
it, and marked sent right after the channel confirmed. A failure keeps it pending with
``next_attempt_at = now + min(1 min * 2**(attempts - 1), 1 h)`` and the error; nothing is ever
dropped, and messages with ``STUCK_AFTER_ATTEMPTS`` failures or more are reported on every tick.
A message for a channel that is not configured stays pending (reported as unrouted) and goes out
once the channel is configured.

At-least-once is the fallback, never loss: a crash between a confirmed send and its record (or a
webhook that timed out after posting) sends that message again once its claim expires. Emails
carry a Message-ID and log lines a message_key derived from the outbox key, so a repeat is visible.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa

from monitoring_jobs.alerts.channels import Channel, DeliveryError
from monitoring_jobs.alerts.evaluation import SEVERITY_RANK, CheckEvaluation
from monitoring_jobs.alerts.message import FAILED, RECOVERED, AlertMessage, CheckLine
from monitoring_jobs.alerts.tables import (
    CLOSED,
    INGEST_LOCK,
    OPEN,
    PENDING,
    SENT,
    AlertTables,
    as_utc,
    storable,
)
from monitoring_jobs.config import AlertRoute, MonitorConfig, Severity

FIRST_RETRY_DELAY = dt.timedelta(minutes=1)
MAX_RETRY_DELAY = dt.timedelta(hours=1)
STUCK_AFTER_ATTEMPTS = 8  # about three hours of retries
# How long a claimed message is reserved for the deliverer that claimed it; far above any channel
# timeout, so only a crashed deliverer's claim ever expires.
CLAIM_DURATION = dt.timedelta(minutes=15)
DEFAULT_COOLDOWN_DAYS = MonitorConfig.model_fields["alert_cooldown_days"].default

RouteKey = tuple[str, tuple[str, ...]]  # (channel, recipients)
IncidentKey = tuple[str, str, str]  # (model, check, partition day)


def retry_delay(attempts: int) -> dt.timedelta:
    """Wait after the ``attempts``-th failed attempt: 1, 2, 4, ... minutes, at most one hour."""
    return min(FIRST_RETRY_DELAY * 2 ** min(attempts - 1, 20), MAX_RETRY_DELAY)


def _utc(moment: dt.datetime, what: str = "now") -> dt.datetime:
    if not isinstance(moment, dt.datetime) or moment.utcoffset() is None:
        raise ValueError(f"{what} must be a timezone-aware datetime, got {moment!r}")
    return moment.astimezone(dt.UTC)


def _route_key(route: AlertRoute) -> RouteKey:
    return route.channel, tuple(sorted(set(route.to)))


@dataclass(frozen=True)
class OutboxEntry:
    """One queued message for one route, as it was when read."""

    id: int
    channel: str
    recipients: tuple[str, ...]
    message: AlertMessage
    attempts: int
    next_attempt_at: dt.datetime
    last_error: str | None = None

    def describe(self) -> str:
        to = f" to {', '.join(self.recipients)}" if self.recipients else ""
        return f"#{self.id} {self.message.title()} via {self.channel}{to}"


@dataclass
class IngestReport:
    """What one ``ingest`` did. Incidents are named (model, check, partition day)."""

    evaluations: int = 0
    already_ingested: int = 0
    still_failing: int = 0
    opened: list[IncidentKey] = field(default_factory=list)
    suppressed: list[tuple[IncidentKey, str]] = field(default_factory=list)
    recovered: list[IncidentKey] = field(default_factory=list)
    enqueued: list[OutboxEntry] = field(default_factory=list)
    models_without_routes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        text = (f"{self.evaluations} evaluation(s): {len(self.opened)} incident(s) opened, "
                f"{len(self.suppressed)} suppressed by cooldown, {len(self.recovered)} recovered, "
                f"{len(self.enqueued)} message(s) queued, {self.already_ingested} already ingested")
        if self.models_without_routes:
            text += f"; no alert routes for {', '.join(self.models_without_routes)}"
        return text


@dataclass
class DeliveryReport:
    """What one ``deliver_due`` did. ``failed`` carries the error and the next attempt time;
    ``deferred`` the reason a due message was not tried this tick; ``unrouted`` maps a channel that
    is not configured to how many messages wait for it; ``stuck`` lists messages still pending
    after ``STUCK_AFTER_ATTEMPTS`` attempts; ``notes`` are caveats on delivered messages."""

    sent: list[OutboxEntry] = field(default_factory=list)
    failed: list[tuple[OutboxEntry, str, dt.datetime]] = field(default_factory=list)
    deferred: list[tuple[OutboxEntry, str]] = field(default_factory=list)
    waiting: int = 0
    unrouted: dict[str, int] = field(default_factory=dict)
    stuck: list[OutboxEntry] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line of counts for the sensor's tick."""
        text = (f"{len(self.sent)} sent, {len(self.failed)} failed (retried later), {len(self.deferred)} deferred, "
                f"{self.waiting} waiting")
        if self.unrouted:
            text += f", {sum(self.unrouted.values())} for unconfigured channel(s) {', '.join(sorted(self.unrouted))}"
        if self.stuck:
            text += f", {len(self.stuck)} stuck"
        return text

    def problems(self) -> list[str]:
        """One line per thing an operator should know: failures, unconfigured channels, stuck messages, caveats."""
        lines = [f"{entry.describe()} not delivered (attempt {entry.attempts + 1}), next attempt at "
                 f"{retry_at:%Y-%m-%d %H:%M:%S} UTC: {error}" for entry, error, retry_at in self.failed]
        lines += [f"{count} message(s) wait for channel '{channel}', which is not configured: configure it (a webhook "
                  "needs its URL, email its SMTP server) and they are delivered, or remove the route"
                  for channel, count in sorted(self.unrouted.items())]
        lines += [f"{entry.describe()} still undelivered after {entry.attempts} attempts: {entry.last_error}"
                  for entry in self.stuck]
        return lines + self.notes


@dataclass
class _Group:
    """Messages to build for one (kind, model, day): incidents with their routes, newest run last."""

    incidents: list[dict] = field(default_factory=list)
    report_path: str | None = None
    run_ids: list[str] = field(default_factory=list)

    def add(self, incident: dict, report_path: str | None, run_id: str) -> None:
        self.incidents.append(incident)
        self.report_path = report_path or self.report_path
        if run_id not in self.run_ids:
            self.run_ids.append(run_id)


class AlertEngine:
    """Incidents and outbox in the metric store's database; see the module docstring for the rules.

    ``routes`` and ``cooldown_days`` map a monitor name to its ``alerts`` and ``alert_cooldown_days``
    (``from_monitors`` builds both). A model missing from ``cooldown_days`` gets the config default.
    """

    def __init__(self, engine: sa.Engine, routes: Mapping[str, Sequence[AlertRoute]],
                 cooldown_days: Mapping[str, int], *, schema: str | None = None) -> None:
        self.engine = engine
        self.routes = {model: list(model_routes) for model, model_routes in routes.items()}
        self.cooldown_days = dict(cooldown_days)
        self.tables = AlertTables(schema)

    @classmethod
    def from_monitors(cls, engine: sa.Engine, monitors: Iterable[MonitorConfig], *,
                      schema: str | None = None) -> AlertEngine:
        monitors = list(monitors)
        return cls(engine, {m.name: m.alerts for m in monitors}, {m.name: m.alert_cooldown_days for m in monitors},
                   schema=schema)

    def ensure_schema(self) -> None:
        self.tables.ensure(self.engine)

    # --- ingest -----------------------------------------------------------------------------------

    def ingest(self, evaluations: Iterable[CheckEvaluation], now: dt.datetime) -> IngestReport:
        """Update incidents from ``evaluations`` and queue their messages, all in one transaction."""
        now = _utc(now)
        evaluations = list(evaluations)
        for evaluation in evaluations:
            if not isinstance(evaluation, CheckEvaluation):
                raise TypeError(f"ingest expects CheckEvaluation objects, got {type(evaluation).__name__}")
        report = IngestReport(evaluations=len(evaluations))
        groups: dict[tuple[str, str, str], _Group] = {}  # (kind, model, day), in the order events happened
        with self.engine.begin() as connection:
            locks = self.tables.locks
            locked = connection.execute(sa.update(locks).where(locks.c.name == INGEST_LOCK).values(locked_at=now))
            if locked.rowcount != 1:
                raise RuntimeError(f"table {locks.fullname} has no '{INGEST_LOCK}' row; call ensure_schema() first")
            for evaluation in sorted(evaluations, key=lambda item: item.record_id):
                if not self._advance(connection, evaluation):
                    report.already_ingested += 1
                elif evaluation.passed:
                    self._close(connection, evaluation, groups, report)
                else:
                    self._open(connection, evaluation, now, groups, report)
            for (kind, model, day), group in groups.items():
                self._enqueue(connection, kind, model, day, group, now, report)
        return report

    def _advance(self, connection: sa.Connection, evaluation: CheckEvaluation) -> bool:
        """Record ``evaluation`` as the latest of its (model, check, day); False if it is not newer."""
        state = self.tables.check_state
        key = (state.c.model == evaluation.model, state.c.check_name == evaluation.check,
               state.c.partition_date == evaluation.day)
        last = connection.execute(sa.select(state.c.last_record_id).where(*key)).scalar_one_or_none()
        if last is not None and last >= evaluation.record_id:
            return False
        values = {"last_record_id": evaluation.record_id, "last_passed": evaluation.passed,
                  "last_evaluated_at": _utc(evaluation.evaluated_at)}
        if last is None:
            connection.execute(sa.insert(state).values(model=evaluation.model, check_name=evaluation.check,
                                                       partition_date=evaluation.day, **values))
        else:
            connection.execute(sa.update(state).where(*key).values(**values))
        return True

    def _open(self, connection: sa.Connection, evaluation: CheckEvaluation, now: dt.datetime,
              groups: dict, report: IngestReport) -> None:
        incidents = self.tables.incidents
        same_key = (incidents.c.model == evaluation.model, incidents.c.check_name == evaluation.check,
                    incidents.c.partition_date == evaluation.day)
        if connection.execute(sa.select(incidents.c.id).where(*same_key, incidents.c.status == OPEN)).first():
            report.still_failing += 1
            return
        generation = connection.execute(sa.select(sa.func.count()).select_from(incidents).where(*same_key)).scalar_one()
        suppressed_reason = self._cooldown(connection, evaluation)
        model_routes = self.routes.get(evaluation.model)
        if model_routes is None and evaluation.model not in report.models_without_routes:
            report.models_without_routes.append(evaluation.model)
        routes = [] if suppressed_reason else self._routes_for(evaluation.model, evaluation.severity)
        row = {"model": evaluation.model, "check_name": evaluation.check, "partition_date": evaluation.day,
               "generation": generation, "status": OPEN, "severity": evaluation.severity,
               "description": storable(evaluation.description), "report_path": storable(evaluation.report_path),
               "run_id": storable(evaluation.run_id), "opened_record_id": evaluation.record_id,
               "opened_at": _utc(evaluation.evaluated_at), "ingested_at": now,
               "suppressed_reason": suppressed_reason, "notified_routes": json.dumps(routes),
               "recovery_announced": False}
        row["id"] = connection.execute(sa.insert(incidents).values(row)).inserted_primary_key[0]
        key = (evaluation.model, evaluation.check, evaluation.partition_date)
        if suppressed_reason:
            report.suppressed.append((key, suppressed_reason))
            return
        report.opened.append(key)
        groups.setdefault((FAILED, evaluation.model, evaluation.partition_date), _Group()).add(
            row, evaluation.report_path, evaluation.run_id)

    def _cooldown(self, connection: sa.Connection, evaluation: CheckEvaluation) -> str | None:
        """Why this failure is suppressed: an announced recovery fewer than cooldown days away, else None."""
        days = self.cooldown_days.get(evaluation.model, DEFAULT_COOLDOWN_DAYS)
        if days <= 0:
            return None
        incidents = self.tables.incidents
        window = dt.timedelta(days=days - 1)
        recovered_on = connection.execute(
            sa.select(incidents.c.closed_partition_date)
            .where(incidents.c.model == evaluation.model, incidents.c.check_name == evaluation.check,
                   incidents.c.recovery_announced.is_(True),
                   incidents.c.closed_partition_date.between(evaluation.day - window, evaluation.day + window))
            .order_by(incidents.c.closed_partition_date.desc()).limit(1)
        ).scalar_one_or_none()
        if recovered_on is None:
            return None
        apart = abs((evaluation.day - recovered_on).days)
        return (f"{evaluation.check} recovered on {recovered_on.isoformat()}, {apart} day(s) from this failure, "
                f"within the {days}-day cooldown of {evaluation.model}")

    def _routes_for(self, model: str, severity: str) -> list[RouteKey]:
        keys: list[RouteKey] = []
        for route in self.routes.get(model, []):
            if SEVERITY_RANK[severity] >= SEVERITY_RANK[Severity(route.min_severity).value]:
                key = _route_key(route)
                if key not in keys:
                    keys.append(key)
        return keys

    def _close(self, connection: sa.Connection, evaluation: CheckEvaluation, groups: dict,
               report: IngestReport) -> None:
        incidents = self.tables.incidents
        closing = connection.execute(
            sa.select(incidents)
            .where(incidents.c.model == evaluation.model, incidents.c.check_name == evaluation.check,
                   incidents.c.status == OPEN, incidents.c.partition_date <= evaluation.day)
            .order_by(incidents.c.partition_date, incidents.c.id)
        ).mappings().all()
        for incident in closing:
            announced = bool(json.loads(incident["notified_routes"]))
            connection.execute(sa.update(incidents).where(incidents.c.id == incident["id"]).values(
                status=CLOSED, closed_record_id=evaluation.record_id, closed_at=_utc(evaluation.evaluated_at),
                closed_partition_date=evaluation.day, closed_run_id=storable(evaluation.run_id),
                recovery_announced=announced))
            report.recovered.append((incident["model"], incident["check_name"], incident["partition_date"].isoformat()))
            if announced:
                groups.setdefault((RECOVERED, evaluation.model, evaluation.partition_date), _Group()).add(
                    dict(incident), evaluation.report_path, evaluation.run_id)

    def _enqueue(self, connection: sa.Connection, kind: str, model: str, day: str, group: _Group,
                 now: dt.datetime, report: IngestReport) -> None:
        """One message per route the group's incidents went to, listing the incidents of that route."""
        routes: list[RouteKey] = []
        for incident in group.incidents:
            for channel, recipients in json.loads(incident["notified_routes"]):
                if (channel, tuple(recipients)) not in routes:
                    routes.append((channel, tuple(recipients)))
        for route in routes:
            mine = [incident for incident in group.incidents
                    if [route[0], list(route[1])] in json.loads(incident["notified_routes"])]
            ids = sorted(incident["id"] for incident in mine)
            key = hashlib.sha256(json.dumps([kind, model, day, ids, route[0], route[1]]).encode()).hexdigest()
            message = AlertMessage(
                key=key, kind=kind, model=model, partition_date=day,
                checks=self._lines(kind, mine), report_path=group.report_path, run_ids=tuple(group.run_ids),
                created_at=now,
                reported_before=self._reported_before(connection, model, day, route, ids) if kind == FAILED else ())
            outbox = self.tables.outbox
            if connection.execute(sa.select(outbox.c.id).where(outbox.c.message_key == key)).first():
                continue  # queued by an earlier ingest of the very same incidents
            entry_id = connection.execute(sa.insert(outbox).values(
                message_key=key, kind=kind, model=model, partition_date=dt.date.fromisoformat(day),
                severity=message.severity, channel=route[0], recipients=json.dumps(list(route[1])),
                payload=json.dumps(message.record(), ensure_ascii=True), status=PENDING, created_at=now,
                attempts=0, next_attempt_at=now)).inserted_primary_key[0]
            report.enqueued.append(OutboxEntry(entry_id, route[0], route[1], message, 0, now))

    @staticmethod
    def _lines(kind: str, incidents: list[dict]) -> tuple[CheckLine, ...]:
        if kind == FAILED:
            return tuple(CheckLine(i["check_name"], i["severity"], i["description"]) for i in incidents)
        by_check: dict[str, list[dict]] = {}
        for incident in incidents:
            by_check.setdefault(incident["check_name"], []).append(incident)
        return tuple(
            CheckLine(check, max((i["severity"] for i in closed), key=SEVERITY_RANK.__getitem__),
                      failed_days=tuple(sorted({i["partition_date"].isoformat() for i in closed})))
            for check, closed in by_check.items())

    def _reported_before(self, connection: sa.Connection, model: str, day: str, route: RouteKey,
                         new_ids: list[int]) -> tuple[str, ...]:
        """Checks of this model-day still failing that ``route`` already heard of."""
        incidents = self.tables.incidents
        earlier = connection.execute(
            sa.select(incidents.c.check_name, incidents.c.notified_routes)
            .where(incidents.c.model == model, incidents.c.partition_date == dt.date.fromisoformat(day),
                   incidents.c.status == OPEN, incidents.c.id.not_in(new_ids))
            .order_by(incidents.c.id)
        ).all()
        return tuple(check for check, routes in earlier if [route[0], list(route[1])] in json.loads(routes))

    # --- delivery ---------------------------------------------------------------------------------

    def deliver_due(self, channels: Mapping[str, Channel], now: dt.datetime, *, max_messages: int = 100,
                    time_budget_s: float = 40) -> DeliveryReport:
        """Send due messages, oldest first, until ``max_messages`` attempts or ``time_budget_s`` seconds.

        ``channels`` maps a route's channel name ("log", "webhook", "email") to a configured channel.
        A channel found unavailable (down, timing out, 5xx) is not tried again in this call.
        """
        now = _utc(now)
        started = time.monotonic()
        report = DeliveryReport()
        outbox = self.tables.outbox
        with self.engine.connect() as connection:
            rows = connection.execute(sa.select(outbox).where(outbox.c.status == PENDING)
                                      .order_by(outbox.c.id)).mappings().all()
        blocked: set[tuple[str, str, str]] = set()  # (model, channel, recipients) with an older message pending
        unavailable: dict[str, str] = {}
        tried = 0
        for row in rows:
            entry = self._entry(row)
            if entry.attempts >= STUCK_AFTER_ATTEMPTS:
                report.stuck.append(entry)
            if row["channel"] not in channels:
                report.unrouted[row["channel"]] = report.unrouted.get(row["channel"], 0) + 1
                continue
            group = (row["model"], row["channel"], row["recipients"])
            if group in blocked:
                report.waiting += 1
                continue
            blocked.add(group)  # until this message is sent, the later ones of its group wait
            if entry.next_attempt_at > now or (row["claim_token"] and as_utc(row["claim_expires_at"]) > now):
                report.waiting += 1
                continue
            if row["channel"] in unavailable:
                report.deferred.append((entry, f"channel unavailable in this call: {unavailable[row['channel']]}"))
                continue
            if tried >= max_messages or time.monotonic() - started > time_budget_s:
                report.deferred.append((entry, "this call's message or time budget is spent"))
                continue
            token = self._claim(entry.id, now)
            if token is None:
                report.waiting += 1  # another deliverer claimed or sent it since it was read
                continue
            tried += 1
            try:
                note = channels[row["channel"]].send(entry.message, entry.recipients)
            except Exception as exc:  # noqa: BLE001 - any channel failure keeps the message queued
                error = str(exc) if isinstance(exc, DeliveryError) else (
                    f"{row['channel']} channel raised {type(exc).__name__}: {exc} (a bug in the channel)")
                next_attempt_at = now + retry_delay(entry.attempts + 1)
                self._finish(entry.id, token, status=PENDING, attempts=entry.attempts + 1,
                             next_attempt_at=next_attempt_at, last_attempt_at=now, last_error=storable(error))
                report.failed.append((entry, error, next_attempt_at))
                if not isinstance(exc, DeliveryError) or exc.channel_unavailable:
                    unavailable[row["channel"]] = error
                continue
            if not self._finish(entry.id, token, status=SENT, attempts=entry.attempts + 1, sent_at=now,
                                last_attempt_at=now, note=storable(note)):
                report.notes.append(f"{entry.describe()} was sent after its claim expired; another deliverer "
                                    "may send it again")
            elif note:
                report.notes.append(f"{entry.describe()}: {note}")
            blocked.discard(group)
            report.sent.append(entry)
        return report

    def _entry(self, row: Mapping) -> OutboxEntry:
        return OutboxEntry(id=row["id"], channel=row["channel"], recipients=tuple(json.loads(row["recipients"])),
                           message=AlertMessage.from_record(json.loads(row["payload"])), attempts=row["attempts"],
                           next_attempt_at=as_utc(row["next_attempt_at"]), last_error=row["last_error"])

    def _claim(self, entry_id: int, now: dt.datetime) -> str | None:
        """Reserve a due message for this call; None if another deliverer has it or it was sent meanwhile."""
        outbox = self.tables.outbox
        token = uuid.uuid4().hex
        with self.engine.begin() as connection:
            claimed = connection.execute(
                sa.update(outbox)
                .where(outbox.c.id == entry_id, outbox.c.status == PENDING, outbox.c.next_attempt_at <= now,
                       sa.or_(outbox.c.claim_token.is_(None), outbox.c.claim_expires_at <= now))
                .values(claim_token=token, claim_expires_at=now + CLAIM_DURATION))
        return token if claimed.rowcount == 1 else None

    def _finish(self, entry_id: int, token: str, **values) -> bool:
        """Record an attempt's outcome and release the claim; False if the claim was lost meanwhile."""
        outbox = self.tables.outbox
        with self.engine.begin() as connection:
            done = connection.execute(
                sa.update(outbox).where(outbox.c.id == entry_id, outbox.c.claim_token == token)
                .values(claim_token=None, claim_expires_at=None, **values))
        return done.rowcount == 1

    # --- inspection -------------------------------------------------------------------------------

    def pending(self, model: str | None = None) -> list[dict]:
        """Messages not delivered yet, oldest first."""
        return self._outbox_rows(PENDING, model, order_by=("id",))

    def sent(self, model: str | None = None) -> list[dict]:
        """Delivered messages in delivery order: one row per message and route."""
        return self._outbox_rows(SENT, model, order_by=("sent_at", "id"))

    def _outbox_rows(self, status: str, model: str | None, order_by: tuple[str, ...]) -> list[dict]:
        outbox = self.tables.outbox
        query = sa.select(outbox).where(outbox.c.status == status).order_by(*(outbox.c[name] for name in order_by))
        if model is not None:
            query = query.where(outbox.c.model == model)
        with self.engine.connect() as connection:
            rows = connection.execute(query).mappings().all()
        return [{
            "id": row["id"], "kind": row["kind"], "model": row["model"],
            "partition_date": row["partition_date"].isoformat(), "severity": row["severity"],
            "checks": [item["check"] for item in json.loads(row["payload"])["checks"]],
            "channel": row["channel"], "recipients": json.loads(row["recipients"]), "status": row["status"],
            "attempts": row["attempts"], "created_at": as_utc(row["created_at"]),
            "next_attempt_at": as_utc(row["next_attempt_at"]), "last_attempt_at": as_utc(row["last_attempt_at"]),
            "last_error": row["last_error"], "note": row["note"], "sent_at": as_utc(row["sent_at"]),
        } for row in rows]

    def incidents(self, model: str | None = None) -> list[dict]:
        """Every incident, oldest first; ``suppressed_reason`` is set on failures the cooldown kept quiet."""
        incidents = self.tables.incidents
        query = sa.select(incidents).order_by(incidents.c.id)
        if model is not None:
            query = query.where(incidents.c.model == model)
        with self.engine.connect() as connection:
            rows = connection.execute(query).mappings().all()
        return [{**row, "partition_date": row["partition_date"].isoformat(),
                 "closed_partition_date": row["closed_partition_date"] and row["closed_partition_date"].isoformat(),
                 "notified_routes": [(channel, tuple(to)) for channel, to in json.loads(row["notified_routes"])],
                 "opened_at": as_utc(row["opened_at"]), "ingested_at": as_utc(row["ingested_at"]),
                 "closed_at": as_utc(row["closed_at"])} for row in rows]
