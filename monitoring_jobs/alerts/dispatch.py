"""Route alerts to their channels and deliver each (model, check, day, channel) once.

Order per alert and route: skip if below the route's ``min_severity``; report as unrouted if the
channel is not configured; report as duplicate if the ledger (or this batch) already has it; send;
record in the ledger only after the channel confirmed. A ``DeliveryError`` leaves no record, so the
next call retries it. Ledger (database) errors propagate: without the ledger, no promise of
exactly-once can be kept, and the caller must fail loudly rather than send blind.

The window between a confirmed send and its record (a crash there, or a webhook that timed out
after the service already posted) can lead to a second delivery: at-least-once is the fallback,
never silent loss.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from monitoring_jobs.alerts.alert import SEVERITY_RANK, Alert, DeliveryError
from monitoring_jobs.alerts.channels import Channel
from monitoring_jobs.alerts.ledger import AlertLedger
from monitoring_jobs.config import AlertRoute, Severity


@dataclass
class DeliveryReport:
    """What one ``deliver`` call did, per (alert, channel).

    ``failed`` and ``unrouted`` carry a message saying what went wrong and what to do;
    ``unrouted`` names the channel, or "" when the monitor has no routes at all.
    """

    sent: list[tuple[Alert, str]] = field(default_factory=list)
    duplicates: list[tuple[Alert, str]] = field(default_factory=list)
    failed: list[tuple[Alert, str, str]] = field(default_factory=list)
    unrouted: list[tuple[Alert, str, str]] = field(default_factory=list)

    def summary(self) -> str:
        """One line for the sensor's log."""
        return (f"{len(self.sent)} sent, {len(self.duplicates)} already sent, "
                f"{len(self.failed)} failed (retried next time), {len(self.unrouted)} unrouted")


def _wants(route: AlertRoute, alert: Alert) -> bool:
    return SEVERITY_RANK[alert.severity] >= SEVERITY_RANK[Severity(route.min_severity).value]


def deliver(alerts: Iterable[Alert], routes: Mapping[str, Sequence[AlertRoute]],
            channels: Mapping[str, Channel], ledger: AlertLedger) -> DeliveryReport:
    """Send every alert along its monitor's routes (``routes``: monitor name -> ``config.alerts``).

    ``channels`` maps a route's channel name ("log", "webhook") to a configured channel. Once a
    channel is found unavailable (down, timing out, 5xx), the rest of this batch is not tried on
    it, so a dead webhook costs one timeout per call instead of one per alert; those alerts are
    reported failed and retried next call. One failing channel never stops the others.
    """
    report = DeliveryReport()
    handled: set[tuple[tuple[str, str, str], str]] = set()
    unavailable: dict[str, str] = {}
    for alert in alerts:
        monitor_routes = routes.get(alert.model)
        if monitor_routes is None:
            report.unrouted.append((alert, "", f"monitor '{alert.model}' has no alert routes; check that its "
                                                "configuration is loaded (its 'alerts' list defaults to the log)"))
            continue
        for route in monitor_routes:
            if not _wants(route, alert):
                continue
            name = route.channel
            channel = channels.get(name)
            if channel is None:
                report.unrouted.append((alert, name, f"monitor '{alert.model}' routes alerts to channel '{name}', "
                                                     "which is not configured; configure it (a webhook needs "
                                                     "its URL) or remove the route"))
                continue
            key = (alert.dedup_key(), name)
            if key in handled or ledger.already_sent(alert, name):
                report.duplicates.append((alert, name))
                continue
            handled.add(key)
            if name in unavailable:
                report.failed.append((alert, name, f"not attempted, channel unavailable in this batch: "
                                                   f"{unavailable[name]}"))
                continue
            try:
                channel.send(alert)
            except DeliveryError as exc:
                report.failed.append((alert, name, str(exc)))
                if exc.channel_unavailable:
                    unavailable[name] = str(exc)
                continue
            ledger.record(alert, name)
            report.sent.append((alert, name))
    return report
