"""Events out of the registry: in-process signals and durable, signed webhooks.

hooks may import the store and registry.errors; never registry.api, schemas or services.
"""

import importlib
import logging

from flask import Flask

log = logging.getLogger(__name__)


def init_app(app: Flask) -> None:
    """Import the operator's plug-ins (PODIUM_PLUGINS), which connect their signal receivers."""
    for module in app.config["PODIUM_PLUGINS"]:
        importlib.import_module(module)
        log.info("loaded plug-in %s", module)
