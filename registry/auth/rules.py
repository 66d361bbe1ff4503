"""What each route requires, declared next to the route: `@access(rule)` above the view.

The gate (registry.auth) knows who is asking before any view runs; a rule then decides, with the
request's loaded fields, whether they may. A route without a rule is refused while
authentication is on, and the route-coverage test fails on it.

A model, experiment or run the caller may not read answers exactly as one that does not exist,
so names do not leak; one they may read but not change answers PERMISSION_DENIED.
"""

import functools
import json

from flask import current_app, g

from registry.errors import PermissionDenied, ResourceDoesNotExist
from registry.search.permitted import Viewer
from registry.services.grants import level_of
from registry.services.users import Caller
from registry.store.statements import statement
from registry.store.tables.auth import LEVEL_NAMES, LEVELS, READ
from registry.store.tables.tracking import Experiment, LoggedModel, Run
from registry.store.tables.webhooks import Delivery, Webhook


def default_level() -> int:
    return LEVELS[current_app.config["PODIUM_DEFAULT_PERMISSION"]]


def viewer() -> Viewer | None:
    """Whom a listing is filtered for: None when authentication is off."""
    user = g.get("user")
    if user is None:
        return None
    return Viewer(user_id=user.id, is_admin=user.is_admin, default_level=default_level())


def acting_user() -> Caller | None:
    """The signed-in user, or None when authentication is off."""
    return g.get("user")


def level_on_model(name: str) -> int | None:
    """The acting user's level on a model, for services that decide by it (protected stages
    and aliases, approvals); None when authentication is off."""
    user = g.get("user")
    if user is None:
        return None
    return level_of(user, "registered_model", name, default=default_level())


class Rule:
    """Anyone signed in (the base rule): search and list routes filter their results."""

    public = False
    browser = False
    description = "signed in"

    def check(self, user: Caller, fields: dict) -> None:
        pass


class Public(Rule):
    public = True
    description = "public"


class Page(Rule):
    """A web UI page: a signed-in browser session (or credentials); strangers are sent to the
    sign-in page. What the user may do on it, the page checks (registry/ui/access.py)."""

    browser = True
    description = "signed in (web UI page)"


class PublicPage(Public):
    browser = True
    description = "public (web UI sign-in)"


class Admin(Rule):
    description = "admin"

    def check(self, user, fields):
        if not user.is_admin:
            raise PermissionDenied(
                f"Permission denied: only an admin may do this ({user.username})."
            )


class SelfOrAdmin(Rule):
    """About one user: that user themself, or an admin."""

    description = "the user themself, or an admin"

    def check(self, user, fields):
        if not user.is_admin and fields.get("username") != user.username:
            raise PermissionDenied("Permission denied: only that user or an admin may do this.")


def _require(user: Caller, level: int, what: str, resource_type: str, resource_id: str, missing):
    held = level_of(user, resource_type, resource_id, default=default_level())
    if held < READ:
        raise missing
    if held < level:
        raise PermissionDenied(
            f"Permission denied: {user.username} needs {LEVEL_NAMES[level]} on {what}."
        )


class OnModel(Rule):
    """A level on the registered model the request names (`name`)."""

    def __init__(self, level: str, field: str = "name"):
        self.level, self.field = LEVELS[level], field
        self.description = f"{level} on the registered model"

    def check(self, user, fields):
        name = fields[self.field]
        missing = ResourceDoesNotExist(f"Registered Model with name={name} not found")
        _require(user, self.level, f"registered model {name}", "registered_model", name, missing)


def _on_experiment(user: Caller, level: int, experiment_id, missing=None) -> None:
    missing = missing or ResourceDoesNotExist(f"No Experiment with id={experiment_id} exists")
    what = f"experiment {experiment_id}"
    _require(user, level, what, "experiment", str(experiment_id), missing)


class OnExperiment(Rule):
    """A level on the experiment the request names (`experiment_id`)."""

    def __init__(self, level: str, field: str = "experiment_id"):
        self.level, self.field = LEVELS[level], field
        self.description = f"{level} on the experiment"

    def check(self, user, fields):
        _on_experiment(user, self.level, fields[self.field])


class OnExperimentNamed(Rule):
    """A level on the experiment the request names by `experiment_name`."""

    def __init__(self, level: str):
        self.level = LEVELS[level]
        self.description = f"{level} on the experiment"

    def check(self, user, fields):
        name = fields["experiment_name"]
        found = Experiment.select(Experiment.id).where(Experiment.name == name).tuples().first()
        if found is not None:  # else the view answers that it does not exist
            missing = ResourceDoesNotExist(f"Could not find experiment with name '{name}'")
            _on_experiment(user, self.level, found[0], missing)


@statement
def _experiment_of_run(run_id):
    return Run.select(Run.experiment).where(Run.run_id == run_id).limit(1)


class OnRun(Rule):
    """A level on the experiment of the run the request names (`run_id`)."""

    def __init__(self, level: str, field: str = "run_id"):
        self.level, self.field = LEVELS[level], field
        self.description = f"{level} on the run's experiment"

    def check(self, user, fields):
        run_id = fields[self.field]
        found = _experiment_of_run.tuples(run_id)
        if found:  # else the view answers that it does not exist
            missing = ResourceDoesNotExist(f"Run with id={run_id} not found")
            _on_experiment(user, self.level, found[0][0], missing)


class OnLoggedModel(Rule):
    """A level on the experiment of the logged model in the path (`model_id`)."""

    def __init__(self, level: str):
        self.level = LEVELS[level]
        self.description = f"{level} on the logged model's experiment"

    def check(self, user, fields):
        model_id = fields["model_id"]
        query = LoggedModel.select(LoggedModel.experiment).where(LoggedModel.model_id == model_id)
        found = query.tuples().first()
        if found:
            missing = ResourceDoesNotExist(f"Logged model with ID '{model_id}' not found.")
            _on_experiment(user, self.level, found[0], missing)


class OnArtifact(Rule):
    """A level on the experiment whose id starts the artifact path (<experiment>/<run>/...)."""

    def __init__(self, level: str):
        self.level = LEVELS[level]
        self.description = f"{level} on the experiment the artifact path starts with"

    def check(self, user, fields):
        if user.is_admin:
            return
        first = (fields.get("path") or "").lstrip("/").split("/", 1)[0]
        if not first.isdigit():
            raise PermissionDenied(
                "Permission denied: artifact paths outside an experiment are for admins."
            )
        missing = ResourceDoesNotExist(f"No artifact at {fields.get('path')}")
        _on_experiment(user, self.level, int(first), missing)


class OnResource(Rule):
    """A level on the resource a permission request names (`resource_type`, `resource_id`)."""

    def __init__(self, level: str):
        self.level = LEVELS[level]
        self.description = f"{level} on the named resource"

    def check(self, user, fields):
        resource_type = fields.get("resource_type")
        if resource_type == "registered_model":
            OnModel(LEVEL_NAMES[self.level], "resource_id").check(user, fields)
        elif resource_type == "experiment":
            OnExperiment(LEVEL_NAMES[self.level], "resource_id").check(user, fields)
        elif not user.is_admin:  # the service explains what resource types exist
            raise PermissionDenied("Permission denied: only an admin may do this.")


def _check_hook_models(user: Caller, model_names: list[str]) -> None:
    """Managing a webhook: MANAGE on every model it is filtered to; registry-wide, admin."""
    if user.is_admin:
        return
    if not model_names:
        raise PermissionDenied(
            "Permission denied: a webhook for every model is for admins; filter it to models "
            "you manage."
        )
    for name in model_names:
        OnModel("MANAGE").check(user, {"name": name})


class OnWebhook(Rule):
    """MANAGE on every model the webhook (by `webhook_id`, or the request) is filtered to."""

    description = "MANAGE on every model the webhook is filtered to (admin if none)"

    def check(self, user, fields):
        if "webhook_id" in fields:
            found = Webhook.get_or_none(Webhook.id == fields["webhook_id"])
            if found is None:
                if not user.is_admin:
                    raise PermissionDenied("Permission denied: only an admin may do this.")
                return
            _check_hook_models(user, json.loads(found.model_names))
        if "model_names" in fields:  # a new hook, or new filters for this one
            _check_hook_models(user, fields["model_names"])


class OnDelivery(Rule):
    """MANAGE on the models of the webhook the delivery (`delivery_id`) belongs to."""

    description = "MANAGE on every model the delivery's webhook is filtered to (admin if none)"

    def check(self, user, fields):
        found = Delivery.get_or_none(Delivery.id == fields["delivery_id"])
        webhook_id = found.webhook_id if found is not None else None
        OnWebhook().check(user, {"webhook_id": webhook_id})


PUBLIC = Public()
PAGE = Page()
PUBLIC_PAGE = PublicPage()
SIGNED_IN = Rule()
ADMIN = Admin()
SELF_OR_ADMIN = SelfOrAdmin()


def access(rule: Rule):
    """Declare what a view requires; checked with the loaded request before the view runs.

    Put it right above the view function (below @exchange), so it sees the loaded fields.
    """

    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **path_args):
            user = g.get("user")
            if user is not None:
                loaded = args[0] if args and isinstance(args[0], dict) else {}
                rule.check(user, {**loaded, **path_args})
            return view(*args, **path_args)

        wrapper.access = rule
        return wrapper

    return decorate
