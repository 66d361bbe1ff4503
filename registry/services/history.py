"""The promotion history: appended inside each write transaction, read as a log or a snapshot."""

from registry.services.lookup import find_model
from registry.store.statements import create
from registry.store.tables.base import now_ms
from registry.store.tables.registry import STAGES, ModelVersion, RegisteredModel, Transition


def record_stage_change(
    model: RegisteredModel,
    version: ModelVersion,
    to_stage: str | None,
    *,
    user: str,
    comment: str = "",
    timestamp: int | None = None,
) -> None:
    """Append a stage change; to_stage None means the version was deleted and left its stage."""
    create(
        Transition,
        model=model,
        model_name=model.name,
        version=version.version,
        kind="stage",
        from_stage=version.current_stage,
        to_stage=to_stage,
        user=user,
        comment=comment,
        timestamp=timestamp or now_ms(),
    )


def record_alias_change(
    model: RegisteredModel,
    alias: str,
    from_version: int | None,
    to_version: int | None,
    *,
    user: str,
    comment: str = "",
) -> None:
    """Append an alias set (from_version None), move, or delete (to_version None)."""
    create(
        Transition,
        model=model,
        model_name=model.name,
        version=to_version if to_version is not None else from_version,
        kind="alias",
        alias=alias,
        from_version=from_version,
        to_version=to_version,
        user=user,
        comment=comment,
    )


def model_history(*, name: str, version: int | None = None) -> list[dict]:
    """Every stage change and alias change of the model now called `name`, oldest first."""
    model = find_model(name)
    query = Transition.select().where(Transition.model == model)
    if version is not None:
        query = query.where(Transition.version == version)
    return [_entry(row) for row in query.order_by(Transition.timestamp, Transition.id)]


def model_as_of(*, name: str, timestamp: int) -> dict:
    """Which versions held each stage and each alias at `timestamp` (ms), replayed from history."""
    model = find_model(name)
    stage_of, version_of = {}, {}
    rows = (
        Transition.select()
        .where((Transition.model == model) & (Transition.timestamp <= timestamp))
        .order_by(Transition.timestamp, Transition.id)
    )
    for row in rows:
        if row.kind == "stage":
            stage_of[row.version] = row.to_stage
        else:
            version_of[row.alias] = row.to_version
    stages = {stage: [] for stage in STAGES if stage != "None"}
    for version, stage in sorted(stage_of.items()):
        if stage in stages:
            stages[stage].append(str(version))
    aliases = {alias: str(v) for alias, v in sorted(version_of.items()) if v is not None}
    return {"name": model.name, "timestamp": timestamp, "stages": stages, "aliases": aliases}


def _entry(row: Transition) -> dict:
    entry = {
        "version": str(row.version),
        "kind": row.kind,
        "user": row.user,
        "comment": row.comment,
        "timestamp": row.timestamp,
    }
    if row.kind == "stage":
        entry.update(from_stage=row.from_stage, to_stage=row.to_stage)
    else:
        entry.update(
            alias=row.alias,
            from_version=None if row.from_version is None else str(row.from_version),
            to_version=None if row.to_version is None else str(row.to_version),
        )
    return entry
