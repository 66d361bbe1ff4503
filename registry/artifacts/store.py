"""Where artifact bytes live: the interface every artifact store implements, and which one a
destination names.

`PODIUM_ARTIFACTS_DESTINATION` is a directory (registry.artifacts.local) or `s3://bucket/prefix`
(registry.artifacts.s3, any S3-compatible service). A store receives only paths that
registry.artifacts.paths has checked, and keeps two promises whatever is behind it:

- an upload is invisible until it is published whole: `stage` takes the bytes somewhere no
  reader looks, `publish` makes them appear at once, `discard` forgets a staged upload that was
  not published (an interrupted or refused upload leaves nothing visible);
- nothing it is asked about lies outside its root or prefix.

Another backend (Azure Blob, GCS, ...) is one module with a class that has these methods, and one
line in `open_store` that maps its URI scheme to it.
"""

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import BinaryIO, Protocol

from flask import Flask, current_app

from registry.errors import PodiumError

_EXTENSION_KEY = "podium_artifact_store"
MAX_PARTS = 10_000  # S3's limit on the parts of one multipart upload, used by every store


@dataclass(frozen=True)
class Entry:
    """One name in a directory listing; size is None for directories."""

    name: str
    is_dir: bool
    size: int | None


@dataclass(frozen=True)
class Staged:
    """An upload whose bytes are stored but not yet visible at `path`.

    `handle` is the store's own note of where they are (a staging file, an S3 upload id).
    `sha256` is empty when the store could not see the bytes in order (parts sent in parallel).
    """

    path: str
    handle: object
    size: int
    sha256: str


@dataclass(frozen=True)
class StoredFile:
    """An artifact opened for reading: a stream the response reads in blocks, and its size."""

    stream: BinaryIO
    size: int


class ArtifactStore(Protocol):
    """What the artifact proxy needs of a store. Paths are canonical, relative, '/'-separated."""

    description: str  # for logs and `podium db check`, credentials never included
    supports_multipart: bool

    def stage(self, path: str, chunks: Iterable[bytes]) -> Staged: ...
    def publish(self, staged: Staged) -> None: ...
    def discard(self, staged: Staged) -> None: ...
    def open(self, path: str) -> StoredFile: ...
    def list(self, path: str) -> list[Entry] | None: ...  # None: missing, or a file
    def delete(self, path: str) -> None: ...  # a file, or a directory and all below it
    def check(self) -> None: ...  # write, read and remove a probe; raises if it cannot

    # Multipart uploads (MLflow's mpu API), for stores with supports_multipart. Parts arrive
    # in any order, in parallel, at any host; `assemble` returns a Staged that `publish` makes
    # visible, so a finished multipart upload is recorded exactly as a plain upload is.
    def create_upload(self, path: str) -> str: ...
    def put_part(self, path: str, upload_id: str, number: int, chunks: Iterable[bytes]) -> str: ...
    def assemble(self, path: str, upload_id: str, parts: Sequence[tuple[int, str]]) -> Staged: ...
    def abort_upload(self, path: str, upload_id: str) -> None: ...


class MultipartUnsupported(PodiumError):
    """The store has no multipart uploads; MLflow's client then falls back to a plain PUT."""

    error_code = "NOT_IMPLEMENTED"
    http_status = 501
    # The client matches this exact sentence (mlflow.exceptions._UnsupportedMultipartUpload...).
    MESSAGE = "Multipart upload is not supported for the current artifact repository"

    def __init__(self):
        super().__init__(self.MESSAGE)


class StoreConfigError(ValueError):
    """PODIUM_ARTIFACTS_DESTINATION names a store that cannot be opened as configured."""


def open_store(settings: dict) -> ArtifactStore:
    """The store PODIUM_ARTIFACTS_DESTINATION names: a directory, or s3://bucket/prefix."""
    destination = settings["PODIUM_ARTIFACTS_DESTINATION"]
    scheme = destination.partition("://")[0].lower() if "://" in destination else ""
    if scheme in ("s3", "s3a"):
        from registry.artifacts.s3 import S3ArtifactStore

        return S3ArtifactStore(destination, part_size=settings["PODIUM_S3_PART_SIZE"])
    if scheme in ("", "file"):
        from registry.artifacts.local import LocalArtifactStore

        return LocalArtifactStore(destination.removeprefix("file://"))
    raise StoreConfigError(
        f"PODIUM_ARTIFACTS_DESTINATION={destination!r}: '{scheme}://' is not a store Podium "
        "has; use a directory or s3://bucket/prefix"
    )


def check_store(settings: dict, say=print) -> bool:
    """`podium db check`'s report on the artifact store: True if it is reachable and writable."""
    destination = settings["PODIUM_ARTIFACTS_DESTINATION"]
    if "://" not in destination and not os.path.exists(destination):
        # Changing nothing: the directory is made at the first start, if its parent allows.
        parent = os.path.dirname(os.path.abspath(destination))
        while not os.path.exists(parent):
            parent = os.path.dirname(parent)
        writable = os.access(parent, os.W_OK | os.X_OK)
        say(
            f"artifacts:      directory {os.path.abspath(destination)}: not made yet; "
            + ("the first start makes it" if writable else f"{parent} is not writable")
        )
        return writable
    try:
        store = open_store(settings)
    except StoreConfigError as error:
        say(f"artifacts:      {error}")
        return False
    try:
        store.check()
    except (OSError, PodiumError) as error:
        reason = getattr(error, "message", None) or getattr(error, "strerror", None) or error
        say(f"artifacts:      {store.description}: not writable: {reason}")
        return False
    say(f"artifacts:      {store.description}: reachable and writable")
    return True


def init_app(app: Flask) -> None:
    """Open the store PODIUM_ARTIFACTS_DESTINATION names, for this app."""
    app.extensions[_EXTENSION_KEY] = open_store(app.config)


def current_store() -> ArtifactStore:
    """The store of the app handling the current request."""
    return current_app.extensions[_EXTENSION_KEY]
