"""The artifact proxy: upload, download, list and delete, recording each file's size and digest."""

from collections.abc import Iterable
from typing import BinaryIO

from peewee import fn

from registry.artifacts.store import ArtifactStore, Entry, Staged, artifact_path, current_store
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
    staged = store.stage(path, chunks)  # the slow part, outside any transaction
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


def open_artifact(*, path: str) -> BinaryIO:
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
