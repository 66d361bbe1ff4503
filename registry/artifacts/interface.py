"""The interface every artifact store implements, and the values it exchanges.

A store receives only paths that registry.artifacts.paths has checked, and keeps two promises
whatever is behind it:

- an upload is invisible until it is published whole: `stage` takes the bytes somewhere no
  reader looks, `publish` makes them appear at once, `discard` forgets a staged upload that was
  not published (an interrupted or refused upload leaves nothing visible);
- nothing it is asked about lies outside its root or prefix.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import BinaryIO, Protocol

from registry.errors import PodiumError

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
