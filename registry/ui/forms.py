"""How a UI form meets a service: load the fields with the API's own request schema, call the
service, redirect (POST-redirect-GET); on a refusal, render the page again with the message
the API would have given, beside the form that failed, with what was typed kept."""

from collections.abc import Callable

from flask import abort, redirect, request
from marshmallow import Schema

from registry.errors import PodiumError

_FILTER_SIGNS = ("=", "<", ">", " like ", " ilike ", " in ", "tag.", "name ")


def search_filter(text: str) -> str | None:
    """A search box's text: MLflow filter syntax as is, any other text as a case-insensitive
    substring of the name."""
    text = text.strip()
    if not text:
        return None
    if any(sign in f" {text.lower()} " for sign in _FILTER_SIGNS):
        return text
    return "name ILIKE '%" + text.replace("'", "''") + "%'"


class Failed:
    """A refused action: which form, the message, and the fields as submitted."""

    def __init__(self, action: str, message: str, fields):
        self.action, self.message, self.fields = action, message, fields

    def value(self, action: str, field: str, default=""):
        """What was typed into `field` of `action`'s form, if that form failed; else default."""
        return self.fields.get(field, default) if self.action == action else default


def loaded(schema: Schema, **fields) -> dict:
    """The service's keyword arguments, checked exactly as the API checks them."""
    return schema.load(fields)


def perform(actions: dict[str, Callable[[dict], str]], render: Callable[[Failed], str]):
    """Run the form's action (its `action` field); redirect to the URL it returns, or render
    the page again with the failure."""
    name = request.form.get("action", "")
    action = actions.get(name)
    if action is None:
        abort(400, f"Unknown action {name[:40]!r}.")
    try:
        target = action(request.form)
    except PodiumError as error:
        return render(Failed(name, error.message, request.form)), error.http_status
    return redirect(target, 303)
