"""Transition requests in the web UI: the version page's request, review and comment forms and
its activity, the model page's open requests, and the Requests page of everything the user
may act on. The decisions are the services' (the API's); this only gathers and renders."""

from flask import render_template, request

from registry.auth.rules import level_on_model
from registry.errors import ResourceDoesNotExist
from registry.schemas import approvals as s
from registry.services import activity, approvals, comments
from registry.services.protection import policy_of
from registry.ui import access, markdown
from registry.ui.access import page
from registry.ui.blueprint import bp
from registry.ui.forms import loaded


def _user() -> str:
    return access.acting_user() or ""


def version_context(name: str, version: int) -> dict:
    """What the version page shows of requests: the open ones and the whole activity."""
    level = level_on_model(name)
    requests = approvals.list_requests(name=name, version=version, user=_user(), level=level)
    timeline = activity.version_activities(name=name, version=version, user=_user(), level=level)
    for entry in timeline:
        entry["html"] = markdown.render(entry["comment"])
    return {"open_requests": requests, "activities": timeline}


def open_requests_shown(model: str | None = None) -> list[dict]:
    """Open requests (of `model`, or every model) the user may read, each with its actions."""
    shown, levels = [], {}
    names = None if model is None else [model]
    for row in approvals.open_requests(model_names=names):
        name = row.model.name
        if name not in levels:
            levels[name] = (level_on_model(name), policy_of(row.model))
            if not access.may("READ", model=name):
                levels[name] = None
        if levels[name] is None:
            continue
        level, policy = levels[name]
        shown.append(activity.request_out(row, user=_user(), level=level, settings=policy))
    return shown


def version_actions(name: str, version: str) -> dict:
    """The version page's request and comment forms, each a service call (see forms.perform)."""

    def fields(schema, form, *extra):
        values = {key: form.get(key, "") for key in ("stage", "comment", *extra)}
        return loaded(schema, name=name, version=version, **values)

    def request_transition(form):
        access.require("READ", model=name)
        approvals.create_request(**fields(s.CreateRequestIn(), form), user=_user())

    def approve(form):
        access.require("READ", model=name)
        loaded_fields = fields(s.CreateRequestIn(), form)
        archive = form.get("archive_existing_versions") == "true"
        approvals.approve_request(
            **loaded_fields,
            archive_existing_versions=archive,
            user=_user(),
            level=level_on_model(name),
        )

    def reject(form):
        access.require("READ", model=name)
        approvals.reject_request(
            **fields(s.RejectRequestIn(), form), user=_user(), level=level_on_model(name)
        )

    def cancel(form):
        access.require("READ", model=name)
        approvals.delete_request(
            **fields(s.DeleteRequestIn(), form, "creator"),
            user=_user(),
            level=level_on_model(name),
        )

    def comment(form):
        access.require("READ", model=name)
        loaded_fields = loaded(
            s.CreateCommentIn(), name=name, version=version, comment=form.get("comment", "")
        )
        comments.create_comment(**loaded_fields, user=_user())

    def edit_comment(form):
        access.require("READ", model=name)
        comment_id = form.get("id", "")
        if comments.model_of_comment(comment_id) != name:  # only this page's comments
            raise ResourceDoesNotExist(f"Comment with id={comment_id[:40]} not found")
        loaded_fields = loaded(s.UpdateCommentIn(), id=comment_id, comment=form.get("comment", ""))
        comments.update_comment(**loaded_fields, user=_user(), level=level_on_model(name))

    def delete_comment(form):
        access.require("READ", model=name)
        comment_id = form.get("id", "")
        if comments.model_of_comment(comment_id) != name:  # only this page's comments
            raise ResourceDoesNotExist(f"Comment with id={comment_id[:40]} not found")
        comments.delete_comment(id=comment_id, user=_user(), level=level_on_model(name))

    return {
        key: _then_here(action)
        for key, action in dict(
            request_transition=request_transition,
            approve=approve,
            reject=reject,
            cancel=cancel,
            comment=comment,
            edit_comment=edit_comment,
            delete_comment=delete_comment,
        ).items()
    }


def _then_here(action):
    def run(form):
        action(form)
        return request.path  # back to the version page

    return run


@bp.get("/requests")
@page
def request_list():
    access.require("READ")
    actionable = [r for r in open_requests_shown() if r["available_actions"]]
    return render_template("requests.html", requests=actionable)
