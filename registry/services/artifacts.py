"""The artifact proxy: upload, download, list and delete, recording each file's size and digest;
and MLflow's multipart uploads (create, parts, complete, abort) for large files."""

from collections.abc import Iterable

from peewee import fn

from registry.artifacts.interface import (
    MAX_PARTS,
    ArtifactStore,
    Entry,
    MultipartUnsupported,
    Staged,
    StoredFile,
)
from registry.artifacts.paths import artifact_path
from registry.artifacts.store import current_store
from registry.errors import InvalidParameter
from registry.store.db import db
from registry.store.failures import retry_conflicts
from registry.store.tables.base import now_ms
from registry.store.tables.tracking import ArtifactFile


def owner_of(path: str) -> str:
    """The run or logged-model artifact directory a file path lies in, or '' if none."""
    segments = path.split("/")
    if len(segments) > 3 and segments[2] == "artifacts":
        return "/".join(segments[:3])  # <experiment>/<run_id>/artifacts/...
    if len(segments) > 4 and segments[1] == "models" and segments[3] == "artifacts":
        return "/".join(segments[:4])  # <experiment>/models/<model_id>/artifacts/...
    return ""


def upload_artifact(*, path: str, chunks: Iterable[bytes]) -> None:
    """Stream one file in; it appears at `path` whole, with its size and SHA-256 recorded."""
    path = artifact_path(path)
    store = current_store()
    _publish(store, store.stage(path, chunks))  # staging is the slow part: outside any transaction


def _publish(store: ArtifactStore, staged: Staged) -> None:
    try:
        _record_upload(store, staged)
    finally:
        store.discard(staged)


@retry_conflicts  # the staged file stays put while its record is retried; the body is read once
def _record_upload(store: ArtifactStore, staged: Staged) -> None:
    with db.atomic():
        fields = {"size": staged.size, "sha256": staged.sha256, "uploaded_at": now_ms()}
        ArtifactFile.insert(path=staged.path, owner=owner_of(staged.path), **fields).on_conflict(
            conflict_target=[ArtifactFile.path], update=fields
        ).execute()
        # Inside the transaction: the row and the file change together or not at all.
        store.publish(staged)


def open_artifact(*, path: str) -> StoredFile:
    """The stored file at `path`, opened for streaming out."""
    return current_store().open(artifact_path(path))


def list_artifacts(*, path: str = "") -> list[Entry] | None:
    """The entries of the directory at `path`; None if it is missing or a file."""
    return current_store().list(artifact_path(path, allow_root=True))


@retry_conflicts
def delete_artifact(*, path: str) -> None:
    """Delete the file or directory at `path` and the records of what it held."""
    path = artifact_path(path)
    with db.atomic():
        below = fn.SUBSTR(ArtifactFile.path, 1, len(path) + 1) == path + "/"
        condition = (ArtifactFile.path == path) | below
        owner = owner_of(path + "/-")
        if owner:  # narrow to one owner's rows through the index
            condition = (ArtifactFile.owner == owner) & condition
        ArtifactFile.delete().where(condition).execute()
        current_store().delete(path)


# --- multipart uploads ----------------------------------------------------------------------


def multipart_supported() -> bool:
    """Whether the configured store takes MLflow's multipart uploads."""
    return current_store().supports_multipart


def _multipart_store() -> ArtifactStore:
    store = current_store()
    if not store.supports_multipart:
        raise MultipartUnsupported()
    return store


def multipart_target(*, directory: str, file_name: str) -> str:
    """The artifact path a multipart upload writes: the client's file name in `directory`."""
    # The client sends its local path; only its last segment names the artifact (either
    # separator: the client may run on Windows).
    name = file_name.replace("\\", "/").rpartition("/")[2]
    if not name:
        raise InvalidParameter(f"Invalid file name '{file_name[:200]}': it names no file.")
    return artifact_path(f"{directory.rstrip('/')}/{name}" if directory else name)


def create_multipart_upload(*, path: str, num_parts: int) -> str:
    """Start a multipart upload to the artifact `path`; its upload id."""
    if not 1 <= num_parts <= MAX_PARTS:
        raise InvalidParameter(f"num_parts must be between 1 and {MAX_PARTS}, got {num_parts}.")
    return _multipart_store().create_upload(artifact_path(path))


def upload_part(*, path: str, upload_id: str, part_number: int, chunks: Iterable[bytes]) -> str:
    """Store one part of a multipart upload; its ETag."""
    if not 1 <= part_number <= MAX_PARTS:
        raise InvalidParameter(f"part_number must be between 1 and {MAX_PARTS}.")
    return _multipart_store().put_part(artifact_path(path), upload_id, part_number, chunks)


def complete_multipart_upload(*, path: str, upload_id: str, parts: list[dict]) -> None:
    """Join the parts into the artifact, which appears whole, and record it."""
    numbers = [part["part_number"] for part in parts]
    if not parts or numbers != sorted(set(numbers)):
        raise InvalidParameter("parts must list each part once, in ascending part_number order.")
    store = _multipart_store()
    listed = [(part["part_number"], part.get("etag") or "") for part in parts]
    _publish(store, store.assemble(artifact_path(path), upload_id, listed))


def abort_multipart_upload(*, path: str, upload_id: str) -> None:
    """Forget a multipart upload and every part sent for it."""
    _multipart_store().abort_upload(artifact_path(path), upload_id)
