"""The artifact proxy, /api/2.0/mlflow-artifacts: the client's uploads and downloads, streamed.

Paths come from the URL. Bodies are read in chunks straight from the socket and files are sent
the same way, so a multi-gigabyte artifact passes through in constant memory.
"""

import mimetypes
import os
import posixpath

from flask import Blueprint, request, send_file
from werkzeug.wsgi import get_input_stream

from registry.api.exchange import exchange
from registry.auth.rules import OnArtifact, access
from registry.errors import BadRequest
from registry.schemas import artifacts as s
from registry.services import artifacts

bp = Blueprint("artifacts", __name__)

CHUNK_SIZE = 1024 * 1024
# Served as attachments, and never as a type a browser would run in this origin.
_ACTIVE_TYPES = ("text/html", "image/svg+xml", "text/javascript", "application/xhtml+xml")


def _body_chunks():
    # Artifacts are exempt from PODIUM_MAX_REQUEST_BYTES, which bounds JSON bodies only. Not
    # `request.max_content_length = None`: Flask 3.1 reads None as "use the app's limit".
    stream = get_input_stream(request.environ, max_content_length=None)
    received = 0
    while True:
        try:
            chunk = stream.read(CHUNK_SIZE)
        except OSError:  # gunicorn's NoMoreData: a chunked body cut off by a hang-up
            raise BadRequest("The upload was cut off; nothing was stored.") from None
        if not chunk:
            break
        received += len(chunk)
        yield chunk
    # With a Content-Length, gunicorn ends the stream quietly when the client hangs up early.
    if request.content_length is not None and received != request.content_length:
        raise BadRequest(
            f"The upload ended after {received} of {request.content_length} bytes; "
            "nothing was stored."
        )


def streamed(view):
    """Mark a view that exchanges raw bytes, not schemas (for the API document)."""
    view.request_schema = view.response_schema = None
    view.streams_bytes = True
    return view


# merge_slashes=False: '//etc/passwd' must reach the path check, not be redirected.
@bp.put("/artifacts/<path:path>", merge_slashes=False)
@exchange()
@access(OnArtifact("EDIT"))
def upload_artifact(path):
    """Store the request body as the artifact at this path."""
    artifacts.upload_artifact(path=path, chunks=_body_chunks())


@bp.get("/artifacts/<path:path>", merge_slashes=False)
@streamed
@access(OnArtifact("READ"))
def download_artifact(path):
    """The artifact's bytes."""
    file = artifacts.open_artifact(path=path)
    name = posixpath.basename(path)
    mimetype = mimetypes.guess_type(name)[0] or "application/octet-stream"
    if mimetype in _ACTIVE_TYPES:
        mimetype = "text/plain"
    response = send_file(file, mimetype=mimetype, as_attachment=True, download_name=name)
    response.content_length = os.fstat(file.fileno()).st_size  # lets gunicorn use sendfile
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/artifacts")
@exchange(s.ListArtifactsIn(), s.ListArtifactsOut())
@access(OnArtifact("READ"))
def list_artifacts(req):
    entries = artifacts.list_artifacts(**req)
    return {} if entries is None else {"files": entries}


@bp.delete("/artifacts/<path:path>", merge_slashes=False)
@exchange()
@access(OnArtifact("MANAGE"))
def delete_artifact(path):
    artifacts.delete_artifact(path=path)
