"""Slow clients: a client that stops sending its request body loses its connection.

Without this, a socket that announces a large body and then sends nothing holds a worker thread
until the client gives up, and a handful of them stop the service from answering anyone. gunicorn
reads the body only when the view does, from the client's socket, which it hands the app as
`gunicorn.socket`; a timeout on that socket makes each read wait at most PODIUM_CLIENT_TIMEOUT
seconds for the next bytes (a slow but steady upload is fine: the limit is per read). It bounds
each write of the response as well, so a client that stops reading is let go too.
"""

from flask import Flask, request
from werkzeug.exceptions import ClientDisconnected

from registry.api.errors import render
from registry.errors import BadRequest, RequestTimeout


def init_app(app: Flask) -> None:
    """Give every request's socket a read timeout; answer a body cut short with 408 or 400."""
    seconds = app.config["PODIUM_CLIENT_TIMEOUT"]

    @app.before_request
    def _limit_silence():
        client = request.environ.get("gunicorn.socket")  # absent under other servers
        # A kept-alive connection brings the same socket back: set it once, not per request.
        if client is not None and client.gettimeout() != seconds:
            client.settimeout(seconds)

    @app.errorhandler(ClientDisconnected)
    def _body_cut_short(error: ClientDisconnected):
        # Werkzeug turns a failed read of the body into ClientDisconnected; the socket's timeout
        # is the failure behind it when the client went silent.
        if isinstance(error.__context__, TimeoutError):
            problem = RequestTimeout(
                f"The client sent nothing for {seconds:g} seconds while sending its request body."
            )
        else:
            problem = BadRequest("The client closed the connection before sending its whole body.")
        # gunicorn then closes the connection: reading the rest of the body times out too.
        return render(problem)
