"""GET /api/3.0/mlflow/server-info: what the client asks before downloading artifacts."""

from flask import Blueprint

from registry.api.exchange import exchange
from registry.auth.rules import SIGNED_IN, access
from registry.schemas.artifacts import ServerInfoOut
from registry.services.artifacts import multipart_supported

bp = Blueprint("server_info", __name__)

# No presigned downloads: the client streams every file through the proxy. Multipart uploads
# (through the proxy too) when the store has them; the client uses them for large files.
SERVER_INFO = {
    "store_type": "SqlStore",
    "workspaces_enabled": False,
    "trace_archival_enabled": False,
    "multipart_uploads_enabled": False,
    "multipart_downloads_enabled": False,
}


@bp.get("/server-info")
@exchange(None, ServerInfoOut())
@access(SIGNED_IN)
def server_info():
    return {**SERVER_INFO, "multipart_uploads_enabled": multipart_supported()}
