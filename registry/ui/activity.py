"""The registry-wide activity feed: every recorded change, newest first, filterable."""

from flask import render_template, request

from registry.services import browsing
from registry.ui import access
from registry.ui.access import page
from registry.ui.blueprint import bp

PAGE_SIZE = 100


@bp.get("/activity")
@page
def activity():
    access.require("READ")
    model = request.args.get("model", "").strip() or None
    user = request.args.get("user", "").strip() or None
    kind = request.args.get("kind", "") or None
    if kind not in browsing.ACTIVITY_KINDS:
        kind = None
    before = request.args.get("before", type=int)
    if before is not None:
        before = min(max(before, 0), 2**62)  # a bound every database can bind
    feed = browsing.activity(
        model=model, user=user, kind=kind, before=before, limit=PAGE_SIZE, viewer=access.viewer()
    )
    older = feed[-1]["timestamp"] if len(feed) == PAGE_SIZE else None
    return render_template(
        "activity.html",
        feed=feed,
        model=model or "",
        user=user or "",
        kind=kind or "",
        kinds=browsing.ACTIVITY_KINDS,
        older=older,
    )
