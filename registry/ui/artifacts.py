"""The artifact browser: folders, sizes, downloads, and text and images shown inline (capped).

Files are never served as active content from this origin: downloads are attachments, text
is shown escaped inside a page, and only raster images are served inline.
"""

import mimetypes
import posixpath

from flask import Response, render_template, request

from registry.errors import PodiumError
from registry.services import artifacts
from registry.ui import access
from registry.ui.access import page
from registry.ui.blueprint import bp

TEXT_PREVIEW_BYTES = 64 * 1024
IMAGE_INLINE_BYTES = 5 * 1024 * 1024
_IMAGES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
}
_TEXT = {
    ".txt",
    ".json",
    ".yaml",
    ".yml",
    ".md",
    ".csv",
    ".log",
    ".py",
    ".toml",
    ".cfg",
    ".ini",
    ".html",
    ".xml",
    ".sh",
    "",
}
ARTIFACTS_SCHEME = "mlflow-artifacts:"


def root_path(uri: str) -> str | None:
    """The store path of an mlflow-artifacts: URI (a host, if any, dropped); else None."""
    if not uri.startswith(ARTIFACTS_SCHEME):
        return None
    rest = uri[len(ARTIFACTS_SCHEME) :]
    if rest.startswith("//"):
        rest = "/" + rest[2:].partition("/")[2]
    return rest.strip("/")


def kind_of(name: str) -> str:
    """'image', 'text' or 'binary', by the file's extension."""
    extension = posixpath.splitext(name)[1].lower()
    if extension in _IMAGES:
        return "image"
    return "text" if extension in _TEXT else "binary"


def read_text(path: str, limit: int = TEXT_PREVIEW_BYTES) -> tuple[str, bool]:
    """The first `limit` bytes of a file as text, and whether it was cut short."""
    with artifacts.open_artifact(path=path).stream as stream:
        data = stream.read(limit + 1)
    return data[:limit].decode("utf-8", errors="replace"), len(data) > limit


def mlmodel_facts(directory: str | None, files: list[dict]) -> dict:
    """The signature block and input example of a version's MLmodel file, when it has them."""
    names = {f["path"]: f for f in files}
    facts = {}
    if directory is None or "MLmodel" not in names:
        return facts
    try:
        text, _cut = read_text(f"{directory}/MLmodel")
    except (PodiumError, OSError):
        return facts
    block, inside = [], False
    for line in text.splitlines():
        if line.startswith("signature:"):
            inside = True
            continue
        if inside and line and not line.startswith(" "):
            break
        if inside:
            block.append(line.strip())
    if block:
        facts["signature"] = "\n".join(block)
    for example in ("input_example.json", "serving_input_example.json"):
        if example in names:
            try:
                facts["input_example"] = read_text(f"{directory}/{example}", 8 * 1024)
            except (PodiumError, OSError):
                pass
            break
    return facts


@bp.get("/artifacts/", defaults={"path": ""})
@bp.get("/artifacts/<path:path>")
@page
def artifact(path):
    # Run artifacts live under <experiment id>/<run id>/artifacts: the experiment decides.
    head = path.strip("/").split("/", 1)[0]
    access.require("READ", experiment_id=head if head.isdecimal() else None)
    entries = artifacts.list_artifacts(path=path)
    if entries is not None:
        entries = sorted(entries, key=lambda e: (not e.is_dir, e.name))
        return render_template(
            "artifacts.html", path=path.strip("/"), entries=entries, kind_of=kind_of
        )
    name = posixpath.basename(path)
    stream = artifacts.open_artifact(path=path).stream
    if request.args.get("raw") and kind_of(name) == "image":
        return Response(stream, mimetype=_IMAGES[posixpath.splitext(name)[1].lower()])
    if request.args.get("download"):
        mimetype = mimetypes.guess_type(name)[0] or "application/octet-stream"
        response = Response(stream, mimetype=mimetype)
        response.headers["Content-Disposition"] = "attachment"
        return response
    stream.close()
    text, cut = read_text(path) if kind_of(name) == "text" else ("", False)
    return render_template(
        "artifact.html",
        path=path,
        name=name,
        kind=kind_of(name),
        text=text,
        cut=cut,
        parent=posixpath.dirname(path),
    )
