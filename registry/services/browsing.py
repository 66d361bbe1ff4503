"""Read-only views the web UI needs beyond the API's: a model's versions by stage, the
registry-wide activity feed, metric histories thinned for charts, the versions a run produced."""

from registry.search import permitted
from registry.search.permitted import Viewer
from registry.services.lookup import find_model, with_models, with_version_details
from registry.services.tracking_lookup import find_run
from registry.store.db import reading
from registry.store.statements import statement
from registry.store.tables.approvals import Comment
from registry.store.tables.registry import ModelVersion, RegisteredModel, Transition
from registry.store.tables.tracking import Metric

ACTIVITY_KINDS = ("stage", "alias", "model_created", "version_created", "review")


def model_versions(
    *, name: str, stage: str | None = None, limit: int = 50, offset: int = 0
) -> tuple[list[ModelVersion], bool]:
    """One page of a model's versions, newest first, optionally in one stage; and whether
    more follow."""
    with reading():
        model = find_model(name)
        query = ModelVersion.select().where(ModelVersion.model == model)
        if stage:
            query = query.where(ModelVersion.current_stage == stage)
        rows = list(query.order_by(ModelVersion.version.desc()).limit(limit + 1).offset(offset))
        for row in rows:
            row.model = model
        return with_version_details(rows[:limit]), len(rows) > limit


def activity(
    *,
    model: str | None = None,
    user: str | None = None,
    kind: str | None = None,
    before: int | None = None,
    limit: int = 50,
    viewer: Viewer | None = None,
) -> list[dict]:
    """The newest `limit` changes before `before` (ms): stage changes, alias moves, models and
    versions created; filtered by model name, user and kind. Newest first."""
    feed = []
    user_id, shape = permitted.user_id(viewer), permitted.visibility(viewer)

    def visible(query, name):  # only models the viewer may read, in the query
        condition = permitted.visible_models(user_id, shape, name)
        return query if condition is None else query.where(condition)

    with reading():
        if kind in (None, "stage", "alias"):
            query = visible(Transition.select(), Transition.model_name)
            if kind:
                query = query.where(Transition.kind == kind)
            if model:
                query = query.where(Transition.model_name == model)
            if user:
                query = query.where(Transition.user == user)
            if before is not None:
                query = query.where(Transition.timestamp < before)
            rows = query.order_by(Transition.timestamp.desc(), Transition.id.desc()).limit(limit)
            feed += [_transition(row) for row in rows]
        if kind in (None, "version_created"):
            query = ModelVersion.select(ModelVersion, RegisteredModel.name).join(RegisteredModel)
            query = visible(query, RegisteredModel.name)
            if model:
                query = query.where(RegisteredModel.name == model)
            if user:
                query = query.where(ModelVersion.user_id == user)
            if before is not None:
                query = query.where(ModelVersion.creation_timestamp < before)
            rows = query.order_by(ModelVersion.creation_timestamp.desc()).limit(limit)
            feed += [
                {
                    "kind": "version_created",
                    "model": row.model.name,
                    "version": row.version,
                    "user": row.user_id,
                    "timestamp": row.creation_timestamp,
                    "detail": row.source,
                }
                for row in rows
            ]
        if kind in (None, "model_created"):
            query = visible(RegisteredModel.select(), RegisteredModel.name)
            if model:
                query = query.where(RegisteredModel.name == model)
            if user:
                query = query.where(RegisteredModel.user_id == user)
            if before is not None:
                query = query.where(RegisteredModel.creation_timestamp < before)
            rows = query.order_by(RegisteredModel.creation_timestamp.desc()).limit(limit)
            feed += [
                {
                    "kind": "model_created",
                    "model": row.name,
                    "version": None,
                    "user": row.user_id,
                    "timestamp": row.creation_timestamp,
                    "detail": "",
                }
                for row in rows
            ]
        if kind in (None, "review"):
            feed += _reviews(visible, model, user, before, limit)
    feed.sort(key=lambda entry: entry["timestamp"], reverse=True)
    return feed[:limit]


def _reviews(visible, model, user, before, limit) -> list[dict]:
    """Transition requests, their reviews, and comments (registry.services.approvals)."""
    query = visible(
        Comment.select(Comment, RegisteredModel).join(RegisteredModel), RegisteredModel.name
    )
    if model:
        query = query.where(RegisteredModel.name == model)
    if user:
        query = query.where(Comment.user == user)
    if before is not None:
        query = query.where(Comment.creation_timestamp < before)
    rows = query.order_by(Comment.creation_timestamp.desc(), Comment.id.desc()).limit(limit)
    return [
        {
            "kind": "review",
            "model": row.model.name,
            "version": row.version,
            "user": row.user,
            "timestamp": row.creation_timestamp,
            "detail": row.activity_type.replace("_", " ").lower()
            + (f": {row.from_stage} → {row.to_stage}" if row.to_stage else ""),
            "comment": row.comment,
        }
        for row in rows
    ]


def _transition(row: Transition) -> dict:
    if row.kind == "stage":
        detail = f"{row.from_stage} → {row.to_stage or '(deleted)'}"
    else:
        before = "—" if row.from_version is None else f"v{row.from_version}"
        after = "(deleted)" if row.to_version is None else f"v{row.to_version}"
        detail = f"@{row.alias}: {before} → {after}"
    return {
        "kind": row.kind,
        "model": row.model_name,
        "version": row.version,
        "user": row.user,
        "timestamp": row.timestamp,
        "detail": detail,
        "comment": row.comment,
    }


@statement
def _metric_points(run_id, key):
    return (
        Metric.select(Metric.step, Metric.timestamp, Metric.value)
        .where((Metric.run == run_id) & (Metric.key == key) & (Metric.is_nan == False))  # noqa: E712
        .order_by(Metric.step, Metric.timestamp)
    )


def metric_series(*, run_id: str, keys: list[str], max_points: int = 200) -> dict[str, list]:
    """Each key's history as (step, timestamp, value) tuples in step order, thinned to about
    `max_points` evenly spaced points plus the last; NaNs are left out."""
    series = {}
    with reading():
        find_run(run_id)
        for key in keys:
            # A compiled query, its rows as the cursor gives them: a chart needs numbers, not
            # model instances. On the run page (12 charts of 1,000 points) building a peewee
            # query per key cost 1.4 of its 9 ms; fetching the rows is the rest.
            points = _metric_points.tuples(run_id, key)
            if len(points) > max_points:
                stride = len(points) / max_points
                points = [points[int(i * stride)] for i in range(max_points)] + [points[-1]]
            series[key] = points
    return series


def versions_from_run(*, run_id: str) -> list[ModelVersion]:
    """The model versions registered from a run, with their models."""
    with reading():
        rows = list(ModelVersion.select().where(ModelVersion.run_id == run_id).limit(100))
        return with_version_details(with_models(rows))
