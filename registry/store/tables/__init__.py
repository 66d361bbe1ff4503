"""Every table Podium keeps, in creation order, and the rows that must always exist."""

from registry.store.tables.approvals import APPROVAL_TABLES
from registry.store.tables.auth import AUTH_TABLES
from registry.store.tables.registry import REGISTRY_TABLES
from registry.store.tables.tracking import TRACKING_TABLES, seed_default_experiment
from registry.store.tables.webhooks import WEBHOOK_TABLES

ALL_TABLES = REGISTRY_TABLES + TRACKING_TABLES + WEBHOOK_TABLES + AUTH_TABLES + APPROVAL_TABLES

# Functions run inside the schema-creation transaction (idempotent inserts).
SEEDS = [seed_default_experiment]
