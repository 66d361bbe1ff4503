"""The artifact proxy, /api/2.0/mlflow-artifacts: the client's uploads and downloads, streamed,
and MLflow's multipart uploads (`mpu/create|complete|abort`) with their parts.

Paths come from the URL. Bodies are read in chunks straight from the socket and files are sent
the same way, so a multi-gigabyte artifact passes through in constant memory.

A multipart upload's parts are PUT to the URLs `mpu/create` hands out, which lead back here
(the client sends them to whatever URL it is given, as it would to S3's presigned URLs): every
host takes any part, and clients need no route to the object store. The URL carries a token
sealed with Podium's secret key (registry.store.secrets), naming the upload and the path it
writes: it works like a presigned URL's signature, for that upload and that path only.
"""

import json
import mimetypes
import posixpath

from flask import Blueprint, jsonify, request, send_file, url_for
from werkzeug.wsgi import get_input_stream

from registry.api.exchange import exchange
from registry.auth.rules import PUBLIC, OnArtifact, access
from registry.errors import BadRequest, InvalidParameter, ResourceDoesNotExist
from registry.schemas import artifacts as s
from registry.services import artifacts
from registry.store import secrets

bp = Blueprint("artifacts", __name__)

CHUNK_SIZE = 64 * 1024
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
    stored = artifacts.open_artifact(path=path)
    name = posixpath.basename(path)
    mimetype = mimetypes.guess_type(name)[0] or "application/octet-stream"
    if mimetype in _ACTIVE_TYPES:
        mimetype = "text/plain"
    response = send_file(stored.stream, mimetype=mimetype, as_attachment=True, download_name=name)
    response.content_length = stored.size  # with a local file, lets gunicorn use sendfile
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


# --- multipart uploads ------------------------------------------------------------------------


@bp.post("/mpu/create/<path:path>", merge_slashes=False)
@exchange(s.CreateMultipartIn(), s.CreateMultipartOut())
@access(OnArtifact("EDIT"))
def create_multipart_upload(req, path):
    """Start a multipart upload of the client's file into the directory `path`."""
    target = artifacts.multipart_target(directory=path, file_name=req["path"])
    upload_id = artifacts.create_multipart_upload(path=target, num_parts=req["num_parts"])
    token = secrets.encrypt(json.dumps([upload_id, target]))
    return {
        "upload_id": upload_id,
        "credentials": [
            {
                "url": url_for(
                    ".upload_part", token=token, part=number, path=target, _external=True
                ),
                "part_number": number,
                "headers": {},
            }
            for number in range(1, req["num_parts"] + 1)
        ],
    }


@bp.put("/mpu/parts/<token>/<part>/<path:path>", merge_slashes=False)
@access(PUBLIC)  # the sealed token is the credential: the client sends parts without its own
def upload_part(token, part, path):
    """Store one part of a multipart upload (the URL comes from mpu/create); ETag in a header."""
    try:
        upload_id, sealed_path = json.loads(secrets.decrypt(token))
    except (secrets.SecretKeyError, ValueError, TypeError):
        raise ResourceDoesNotExist("Multipart upload not found.") from None
    if sealed_path != path:
        raise ResourceDoesNotExist("Multipart upload not found.")
    if not part.isdecimal() or len(part) > 5:
        raise InvalidParameter(f"Invalid part number '{part[:10]}'.")
    etag = artifacts.upload_part(
        path=path, upload_id=upload_id, part_number=int(part), chunks=_body_chunks()
    )
    response = jsonify({})
    response.headers["ETag"] = etag if etag.startswith('"') else f'"{etag}"'
    return response


upload_part.request_schema = upload_part.response_schema = None  # raw bytes in, {} out


@bp.post("/mpu/complete/<path:path>", merge_slashes=False)
@exchange(s.CompleteMultipartIn())
@access(OnArtifact("EDIT"))
def complete_multipart_upload(req, path):
    """Join the parts: the artifact appears whole, and is recorded like any upload."""
    target = artifacts.multipart_target(directory=path, file_name=req["path"])
    artifacts.complete_multipart_upload(path=target, upload_id=req["upload_id"], parts=req["parts"])


@bp.post("/mpu/abort/<path:path>", merge_slashes=False)
@exchange(s.AbortMultipartIn())
@access(OnArtifact("EDIT"))
def abort_multipart_upload(req, path):
    """Forget a multipart upload and its parts."""
    target = artifacts.multipart_target(directory=path, file_name=req["path"])
    artifacts.abort_multipart_upload(path=target, upload_id=req["upload_id"])
