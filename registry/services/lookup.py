"""Finding registry rows by their wire identifiers, and loading what their wire shapes show."""

from collections import defaultdict
from collections.abc import Iterable

from peewee import Tuple, fn

from registry.db import locked
from registry.errors import ResourceDoesNotExist
from registry.models import (
    STAGES,
    Alias,
    ModelVersion,
    ModelVersionTag,
    RegisteredModel,
    RegisteredModelTag,
)


def find_model(name: str, *, for_update: bool = False) -> RegisteredModel:
    """The model called `name`; with for_update, row-locked until the transaction ends."""
    query = RegisteredModel.select().where(RegisteredModel.name == name)
    model = (locked(query) if for_update else query).first()
    if model is None:
        raise ResourceDoesNotExist(f"Registered Model with name={name} not found")
    return model


def find_version(model: RegisteredModel, version: int) -> ModelVersion:
    """Version `version` of `model`."""
    found = (
        ModelVersion.select()
        .where((ModelVersion.model == model) & (ModelVersion.version == version))
        .first()
    )
    if found is None:
        raise ResourceDoesNotExist(
            f"Model Version (name={model.name}, version={version}) not found"
        )
    found.model = model
    return found


def with_models(versions: list[ModelVersion]) -> list[ModelVersion]:
    """Attach each version's registered model, in one query for the whole batch."""
    ids = {v.model_id for v in versions}
    models = {m.id: m for m in RegisteredModel.select().where(RegisteredModel.id.in_(ids))}
    for version in versions:
        version.model = models[version.model_id]
    return versions


def key_values(table, owner_field: str, ids: list) -> dict:
    """{owner id: [{"key", "value"}, ...]} sorted by key, in one query (tags, params)."""
    found = defaultdict(list)
    owner = getattr(table, owner_field)
    for row in table.select().where(owner.in_(ids)).order_by(table.key):
        found[getattr(row, owner_field + "_id")].append({"key": row.key, "value": row.value})
    return found


def with_version_details(versions: Iterable[ModelVersion]) -> list[ModelVersion]:
    """Attach tag_list and alias_names to each version, in two queries for the whole batch."""
    versions = list(versions)
    if not versions:
        return versions
    ids = [v.id for v in versions]
    tags, aliases = key_values(ModelVersionTag, "version", ids), defaultdict(list)
    for alias in Alias.select().where(Alias.version.in_(ids)).order_by(Alias.alias):
        aliases[alias.version_id].append(alias.alias)
    for version in versions:
        version.tag_list = tags[version.id]
        version.alias_names = aliases[version.id]
    return versions


def latest_versions(models: list[RegisteredModel], stages=STAGES) -> dict[int, list[ModelVersion]]:
    """The highest version in each of `stages`, per model id, with details, in stage order."""
    if not models:
        return {}
    by_id = {m.id: m for m in models}
    # The (model, stage, version) index answers this without reading every version.
    highest = (
        ModelVersion.select(ModelVersion.model, fn.MAX(ModelVersion.version).alias("top"))
        .where(ModelVersion.model.in_(list(by_id)) & ModelVersion.current_stage.in_(list(stages)))
        .group_by(ModelVersion.model, ModelVersion.current_stage)
    )
    wanted = [(row.model_id, row.top) for row in highest]
    found = defaultdict(list)
    if not wanted:
        return found
    rows = ModelVersion.select().where(Tuple(ModelVersion.model, ModelVersion.version).in_(wanted))
    for version in sorted(rows, key=lambda v: (v.model_id, STAGES.index(v.current_stage))):
        version.model = by_id[version.model_id]
        found[version.model_id].append(version)
    with_version_details(v for vs in found.values() for v in vs)
    return found


def with_model_details(models: Iterable[RegisteredModel]) -> list[RegisteredModel]:
    """Attach tag_list, alias_list and latest_versions to each model, in a few batch queries."""
    models = list(models)
    if not models:
        return models
    ids = [m.id for m in models]
    tags, aliases = key_values(RegisteredModelTag, "model", ids), defaultdict(list)
    alias_rows = (
        Alias.select(Alias.model, Alias.alias, ModelVersion.version)
        .join(ModelVersion)
        .where(Alias.model.in_(ids))
        .order_by(Alias.alias)
    )
    for alias in alias_rows:
        aliases[alias.model_id].append(
            {"alias": alias.alias, "version": str(alias.version.version)}
        )
    latest = latest_versions(models)
    for model in models:
        model.tag_list = tags[model.id]
        model.alias_list = aliases[model.id]
        model.latest_versions = latest.get(model.id, [])
    return models
