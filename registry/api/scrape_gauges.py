"""What /metrics reads from the database when scraped: the registry's size, the outbox's
backlog, and build information; cached for a few seconds per process.

These are facts about the shared database, not about one process, so no process keeps them as
a multiprocess gauge (which every worker would report again). A few COUNT queries per scrape,
at most once per CACHE_SECONDS per process however many scrapers ask. When the database does
not answer, `podium_database_up` says 0 and the process's own counters are still served.
"""

import threading
import time
from importlib.metadata import version

from peewee import fn
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from hooks.backlog import outbox_backlog
from registry.store.db import db, is_sqlite
from registry.store.failures import DATABASE_ERRORS, drop_connection
from registry.store.tables.registry import STAGES, ModelVersion, RegisteredModel

CACHE_SECONDS = 5.0


def registry_size() -> dict:
    """{"models", "versions", "stages": {stage: versions}}, in three small queries."""
    per_stage = dict.fromkeys(STAGES, 0)
    query = ModelVersion.select(ModelVersion.current_stage, fn.COUNT(ModelVersion.id))
    for stage, count in query.group_by(ModelVersion.current_stage).tuples():
        per_stage[stage] = count
    return {
        "models": RegisteredModel.select().count(),
        "versions": sum(per_stage.values()),
        "stages": per_stage,
    }


class ScrapeGauges(Collector):
    """A prometheus_client collector of the database's facts, for one process's /metrics."""

    def __init__(self):
        self._lock = threading.Lock()
        self._read_at = float("-inf")
        self._facts = None  # None: the database did not answer

    def collect(self):
        facts = self._cached_facts()
        info = GaugeMetricFamily(
            "podium_build_info",
            "Podium's version and database kind",
            labels=("version", "database"),
        )
        info.add_metric([version("podium-registry"), "sqlite" if is_sqlite() else "postgresql"], 1)
        yield info
        yield GaugeMetricFamily(
            "podium_database_up",
            "Whether the database answered the last scrape's queries",
            value=0 if facts is None else 1,
        )
        if facts is None:
            return
        registry, backlog = facts
        yield GaugeMetricFamily(
            "podium_registered_models", "Registered models", value=registry["models"]
        )
        yield GaugeMetricFamily(
            "podium_model_versions", "Model versions", value=registry["versions"]
        )
        stages = GaugeMetricFamily(
            "podium_model_versions_in_stage", "Model versions by stage", labels=("stage",)
        )
        for stage, count in registry["stages"].items():
            stages.add_metric([stage], count)
        yield stages
        outbox = GaugeMetricFamily(
            "podium_outbox_deliveries",
            "Deliveries in the outbox by status: pending (never tried) and retrying, of active "
            "webhooks; failed (retries exhausted, redeliverable)",
            labels=("status",),
        )
        for status in ("pending", "retrying", "failed"):
            outbox.add_metric([status], backlog[status])
        yield outbox
        yield GaugeMetricFamily(
            "podium_outbox_oldest_pending_age_seconds",
            "Age of the oldest delivery of an active webhook still pending (0: none)",
            value=backlog["oldest_pending_age_seconds"],
        )
        webhooks = GaugeMetricFamily("podium_webhooks", "Webhooks by status", labels=("status",))
        for status, count in backlog["webhooks"].items():
            webhooks.add_metric([status.lower()], count)
        yield webhooks

    def _cached_facts(self):
        with self._lock:  # concurrent scrapes of one worker share one read
            if time.monotonic() - self._read_at >= CACHE_SECONDS:
                self._facts = self._read()
                self._read_at = time.monotonic()
            return self._facts

    @staticmethod
    def _read():
        try:
            db.connect(reuse_if_open=True)
            return registry_size(), outbox_backlog()
        except DATABASE_ERRORS:
            drop_connection()
            return None
