"""Request ids: accepted from X-Request-Id or made, returned on every response, and carried in
a contextvar to the log lines and events the request causes (and, with the route and the user,
to gunicorn's access log line).

The contextvar is how code below the HTTP edge learns the id without reading flask.request:
hooks/events.py stamps it on each event, registry/server/logs.py on each log line. A client's
own id is kept only when it is short and plain (letters, digits and `-_.:/=+`), so an id can
neither forge a log line nor grow one without bound; otherwise Podium makes a new one.
"""

import random
import re
from contextvars import ContextVar

from flask import Flask, g, request

HEADER = "X-Request-Id"
MAX_LENGTH = 128
_SAFE = re.compile(rf"[A-Za-z0-9\-_.:/=+]{{1,{MAX_LENGTH}}}")

current_request_id: ContextVar[str | None] = ContextVar("podium_request_id", default=None)


def accepted_or_new(offered: str | None) -> str:
    """The client's id if it is acceptable, else a new random one."""
    if offered and _SAFE.fullmatch(offered):
        return offered
    # 128 random bits from the process's Mersenne Twister (reseeded in each forked worker), as
    # uuid4().hex would give: an id correlates lines and need not be unguessable, and os.urandom
    # (uuid4's source) is a system call that hands the GIL to another thread in every request.
    return f"{random.getrandbits(128):032x}"


def init_app(app: Flask) -> None:
    """Give every request an id, and every response (errors, 404s and 405s too) its header."""

    @app.before_request
    def _take_id():
        request_id = accepted_or_new(request.headers.get(HEADER))
        g.request_id = request_id
        g.request_id_token = current_request_id.set(request_id)

    @app.after_request
    def _return_id(response):
        response.headers[HEADER] = g.get("request_id") or accepted_or_new(None)
        # For gunicorn's access log line, written after Flask is done (registry/server/logs.py).
        request.environ["podium.route"] = request.url_rule.rule if request.url_rule else None
        request.environ["podium.user"] = g.get("username")
        return response

    @app.teardown_request
    def _forget_id(_exc):
        # The thread serves other requests next; none may inherit this one's id.
        token = g.pop("request_id_token", None)
        if token is not None:
            current_request_id.reset(token)
