"""An example policy plug-in: only versions tagged validated=true may enter Production.

PODIUM_PLUGINS=production_policy PYTHONPATH=deploy/examples podium serve
"""

from hooks import signals
from registry.errors import PolicyViolation
from registry.store.tables.registry import ModelVersionTag


@signals.before_stage_transition.connect
def require_validation(model_version, *, to_stage, **_):
    if to_stage != "Production":
        return
    validated = ModelVersionTag.get_or_none(
        (ModelVersionTag.version == model_version) & (ModelVersionTag.key == "validated")
    )
    if validated is None or validated.value != "true":
        raise PolicyViolation(
            f"Version {model_version.version} of {model_version.model.name} is not tagged "
            "validated=true; it may not enter Production."
        )
