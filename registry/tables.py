"""Every table Podium keeps, in creation order, and the rows that must always exist."""

from registry.models import ALL_MODELS
from registry.tracking_models import TRACKING_MODELS, seed_default_experiment
from registry.webhook_models import WEBHOOK_TABLES

ALL_TABLES = ALL_MODELS + TRACKING_MODELS + WEBHOOK_TABLES

# Functions run inside the schema-creation transaction (idempotent inserts).
SEEDS = [seed_default_experiment]
