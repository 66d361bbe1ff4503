"""Which models and experiments a user may see, as conditions that go into a search's query.

Filtering in the query, not after it, keeps pages full and page tokens right: a page of 50 holds
50 items the user may read. A user sees what they were granted READ or more on; where nobody
granted them anything, the deployment's default level decides (PODIUM_DEFAULT_PERMISSION).

A listing's filter has one of three shapes (none, "all but denied", "only granted"), so the
compiled statements that hold it stay few; the user's id is a bound value.
"""

from dataclasses import dataclass

from peewee import Expression, Node

from registry.store.tables.auth import READ, Grant
from registry.store.tables.registry import RegisteredModel
from registry.store.tables.tracking import Experiment

ALL_BUT_DENIED = "all but denied"
ONLY_GRANTED = "only granted"


@dataclass(frozen=True)
class Viewer:
    """The user a listing is filtered for; admins see everything."""

    user_id: int
    is_admin: bool
    default_level: int


def visibility(viewer: Viewer | None) -> str | None:
    """The filter's shape for `viewer`: None (everything), ALL_BUT_DENIED or ONLY_GRANTED."""
    if viewer is None or viewer.is_admin:
        return None
    return ALL_BUT_DENIED if viewer.default_level >= READ else ONLY_GRANTED


def user_id(viewer: Viewer | None) -> int:
    return viewer.user_id if viewer is not None else 0


def _visible(user: int, shape: str | None, resource_type: str, key: Expression) -> Node | None:
    if shape is None:
        return None
    granted = (Grant.user == user) & (Grant.resource_type == resource_type)
    if shape == ALL_BUT_DENIED:
        denied = Grant.select(Grant.resource_id).where(granted & (Grant.level < READ))
        return key.not_in(denied)
    readable = Grant.select(Grant.resource_id).where(granted & (Grant.level >= READ))
    return key.in_(readable)


def visible_models(
    user: int, shape: str | None, name: Expression = RegisteredModel.name
) -> Node | None:
    """A condition on a model name column keeping the models the user may read; None: all."""
    return _visible(user, shape, "registered_model", name)


def visible_experiments(user: int, shape: str | None, key: Expression = Experiment.id):
    """A condition on an experiment id column keeping what the user may read; None: all."""
    # Grants name experiments by their wire id, a string.
    return _visible(user, shape, "experiment", key.cast("VARCHAR"))
