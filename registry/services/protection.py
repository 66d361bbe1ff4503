"""Protected stages and aliases: which moves need a stage permission, per setting or model.

`level` is the caller's level on the model, or None when nobody is signed in (authentication
off): an open registry has no one to protect it from, so protection applies only with
authentication on, and everything that worked without it works as before.
"""

from flask import current_app

from registry.errors import InvalidParameter, PermissionDenied
from registry.services.lookup import find_model
from registry.store.db import db, reading
from registry.store.failures import retry_conflicts
from registry.store.tables.approvals import ApprovalPolicy
from registry.store.tables.auth import LEVEL_NAMES, MANAGE_PRODUCTION, MANAGE_STAGING
from registry.store.tables.registry import STAGES, RegisteredModel

REQUEST_ENDPOINT = "/api/2.0/mlflow/transition-requests/create"


def _words(text: str) -> list[str]:
    return [word.strip() for word in text.split(",") if word.strip()]


def _policy_row(model: RegisteredModel) -> ApprovalPolicy | None:
    return ApprovalPolicy.get_or_none(ApprovalPolicy.model == model)


def policy_of(model: RegisteredModel) -> dict:
    """The model's effective policy: its own values where set, the settings' otherwise."""
    # Settings are read from the app, never the request: the same for every caller.
    config = current_app.config
    row = _policy_row(model)
    stages = config["PODIUM_PROTECTED_STAGES"]
    aliases = config["PODIUM_PROTECTED_ALIASES"]
    required = config["PODIUM_APPROVALS_REQUIRED"]
    if row is not None:
        stages = _words(row.protected_stages) if row.protected_stages is not None else stages
        aliases = _words(row.protected_aliases) if row.protected_aliases is not None else aliases
        required = row.approvals_required or required
    return {
        "name": model.name,
        "protected_stages": list(stages),
        "protected_aliases": list(aliases),
        "approvals_required": max(1, int(required)),
        "self_approval": bool(config["PODIUM_APPROVAL_SELF"]),
    }


def stage_level(stage: str) -> int:
    """The level that moves a version into (or approves a request for) `stage`."""
    return MANAGE_PRODUCTION if stage == "Production" else MANAGE_STAGING


def check_direct_transition(
    model: RegisteredModel, from_stage: str, to_stage: str, level: int | None
) -> None:
    """Refuse moving a version into or out of a protected stage without the stage permission."""
    if level is None or from_stage == to_stage:
        return
    protected = policy_of(model)["protected_stages"]
    for stage in (to_stage, from_stage):
        if stage in protected and level < stage_level(stage):
            raise PermissionDenied(
                f"Permission denied: {stage} is a protected stage of registered model "
                f"{model.name}; moving a version there takes "
                f"{LEVEL_NAMES[stage_level(stage)]}. Ask for it with a transition request: "
                f"POST {REQUEST_ENDPOINT}"
            )


def check_alias(model: RegisteredModel, alias: str, level: int | None) -> None:
    """Refuse setting, moving or deleting a protected alias without MANAGE_PRODUCTION_VERSIONS."""
    if level is None or alias not in policy_of(model)["protected_aliases"]:
        return
    if level < MANAGE_PRODUCTION:
        raise PermissionDenied(
            f"Permission denied: alias '{alias}' of registered model {model.name} is protected; "
            "only MANAGE_PRODUCTION_VERSIONS holders may set, move or delete it."
        )


def get_policy(*, name: str) -> dict:
    """The model's effective approval policy."""
    with reading():
        return policy_of(find_model(name))


@retry_conflicts
def set_policy(
    *,
    name: str,
    protected_stages: list[str] | None = None,
    protected_aliases: list[str] | None = None,
    approvals_required: int | None = None,
) -> dict:
    """Set the model's own protected stages, aliases or approvals needed (None: the setting's)."""
    for stage in protected_stages or ():
        if stage not in STAGES:
            raise InvalidParameter(f"Invalid stage '{stage}'. Valid stages are: {STAGES}")
    if approvals_required is not None and not 1 <= approvals_required <= 100:
        raise InvalidParameter("approvals_required must be between 1 and 100.")
    with db.atomic():
        model = find_model(name, for_update=True)
        row = _policy_row(model) or ApprovalPolicy(model=model)
        row.protected_stages = None if protected_stages is None else ",".join(protected_stages)
        row.protected_aliases = None if protected_aliases is None else ",".join(protected_aliases)
        row.approvals_required = approvals_required
        row.save()
        return policy_of(model)
