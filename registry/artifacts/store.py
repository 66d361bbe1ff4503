"""Where artifact bytes live: a small store interface and its local-filesystem implementation.

Every path a client names is checked by `artifact_path` before it reaches a store: decoded,
canonical, relative, free of traversal in any encoding. The local store then resolves it
(symlinks included) and refuses anything that lands outside its root. Uploads are streamed into a
staging file and renamed into place, so a reader never sees a partial artifact and an interrupted
upload leaves nothing behind.
"""

import errno
import hashlib
import logging
import os
import re
import shutil
import tempfile
import unicodedata
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass
from typing import BinaryIO, Protocol
from urllib.parse import unquote

from flask import Flask, current_app

from registry.errors import InvalidParameter, ResourceConflict, ResourceDoesNotExist, StorageFull

MAX_PATH_LENGTH = 4096
# Linux file systems (ext4, XFS, tmpfs, overlayfs) refuse a name longer than 255 bytes with an
# OSError; checked up front, so the client hears which segment and why.
MAX_SEGMENT_BYTES = 255
_STAGING = ".podium-staging"  # uploads in progress, inside the root so a rename is atomic
_MAX_DECODE_LAYERS = 10
_DRIVE = re.compile(r"^[A-Za-z]:")
_EXTENSION_KEY = "podium_artifact_store"
# What the file system says about a name the client chose: the client's to fix (400).
_BAD_NAME_ERRNOS = {errno.ENAMETOOLONG, errno.EINVAL, errno.EILSEQ, errno.ENOTDIR, errno.EISDIR}
_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Entry:
    name: str
    is_dir: bool
    size: int | None


@dataclass(frozen=True)
class Staged:
    """An upload written to a staging file, not yet visible at `path`."""

    path: str
    temp: str
    size: int
    sha256: str


class ArtifactStore(Protocol):
    def stage(self, path: str, chunks: Iterable[bytes]) -> Staged: ...
    def publish(self, staged: Staged) -> None: ...
    def discard(self, staged: Staged) -> None: ...
    def open(self, path: str) -> BinaryIO: ...
    def list(self, path: str) -> list[Entry] | None: ...
    def delete(self, path: str) -> None: ...


def artifact_path(raw: str, *, allow_root: bool = False) -> str:
    """The canonical relative form of a client-given artifact path; InvalidParameter if unsafe."""
    if len(raw) > MAX_PATH_LENGTH:
        _reject(raw, f"it is longer than {MAX_PATH_LENGTH} characters")
    views = [raw]
    for _ in range(_MAX_DECODE_LAYERS):  # %2e%2e, %252e%252e, ... are all '..' to someone
        try:
            decoded = unquote(views[-1], errors="strict")
        except UnicodeDecodeError:
            _reject(raw, "percent-encoded bytes are not valid UTF-8")
        if decoded == views[-1]:
            break
        views.append(decoded)
    else:
        _reject(raw, "too many layers of percent-encoding")
    views.append(unicodedata.normalize("NFKC", views[-1]))
    for view in views:
        if any(unicodedata.category(c) in ("Cc", "Cf", "Cs", "Zl", "Zp") for c in view):
            _reject(raw, "control and invisible characters (NUL included) are not allowed")
        if "\\" in view:
            _reject(raw, "backslashes are not allowed")
        if view.startswith("/") or _DRIVE.match(view):
            _reject(raw, "absolute paths are not allowed")
        if any(segment.startswith("..") and not segment.strip(". ") for segment in view.split("/")):
            _reject(raw, "'..' is not allowed")
    path = raw[:-1] if raw.endswith("/") else raw  # the client names directories so, at times
    if not path:
        if allow_root:
            return ""
        _reject(raw, "it names the artifact root")
    segments = path.split("/")
    if any(segment in ("", ".") for segment in segments):
        _reject(raw, "empty and '.' segments are not allowed")
    if segments[0] == _STAGING:
        _reject(raw, f"'{_STAGING}' is reserved")
    long = next((s for s in segments if len(s.encode("utf-8")) > MAX_SEGMENT_BYTES), None)
    if long is not None:
        _reject(raw, f"the name '{long[:40]}...' is longer than {MAX_SEGMENT_BYTES} bytes")
    return path


def _reject(raw: str, reason: str):
    raise InvalidParameter(f"Invalid artifact path '{_shown(raw)}': {reason}.")


def _shown(raw: str) -> str:
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in raw[:200])


@contextmanager
def _writing(path: str):
    """Turn what the file system refuses while writing `path` into an answer for the client.

    A full disk or quota is 507 and passes once space is freed; a name the file system cannot
    hold is 400; anything else it refuses is a conflict with the store's state (409). The
    callers clean up first, so nothing partial stays behind.
    """
    try:
        yield
    except OSError as error:
        if error.errno in _FULL_ERRNOS:
            log.warning("artifact root is full writing %s: %s", _shown(path), error.strerror)
            raise StorageFull(
                "The artifact store is full: no space is left for this upload; nothing was "
                "stored. Reads still work; retry once space is freed."
            ) from None
        if error.errno in _BAD_NAME_ERRNOS:
            _reject(path, f"the artifact store cannot hold it ({error.strerror})")
        log.warning("artifact store refused %s: %s", _shown(path), error)
        raise ResourceConflict(
            f"The artifact store refused to write '{_shown(path)}': {error.strerror or error}."
        ) from None


class LocalArtifactStore:
    """Artifacts as files under one directory (PODIUM_ARTIFACTS_DESTINATION)."""

    chunk_size = 1024 * 1024

    def __init__(self, root: str):
        # A new root is private to Podium's user; an existing one keeps the mode it was given.
        os.makedirs(root, mode=0o700, exist_ok=True)
        self.root = os.path.realpath(root)

    def _inside(self, real: str) -> bool:
        return real == self.root or real.startswith(self.root + os.sep)

    def _local(self, path: str) -> str:
        """The file system path for a checked relative path, refusing what resolves outside."""
        local = os.path.join(self.root, *path.split("/")) if path else self.root
        if not self._inside(os.path.realpath(local)):
            _reject(path, "it resolves outside the artifact root")
        return local

    def stage(self, path: str, chunks: Iterable[bytes]) -> Staged:
        local = self._local(path)
        if os.path.isdir(local):
            _reject(path, "it is a directory")
        staging = os.path.join(self.root, _STAGING)
        with _writing(path):
            os.makedirs(staging, exist_ok=True)
            fd, temp = tempfile.mkstemp(dir=staging, prefix="upload-")
            digest, size = hashlib.sha256(), 0
            try:
                with os.fdopen(fd, "wb") as out:
                    for chunk in chunks:
                        out.write(chunk)
                        digest.update(chunk)
                        size += len(chunk)
                    out.flush()
                    os.fsync(out.fileno())
            except BaseException:
                os.unlink(temp)
                raise
        return Staged(path, temp, size, digest.hexdigest())

    def publish(self, staged: Staged) -> None:
        local = self._local(staged.path)
        parent = os.path.dirname(local)
        try:
            os.makedirs(parent, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            _reject(staged.path, "a parent of it is a file")
        except OSError:
            self._remove_empty_parents(parent)
            with _writing(staged.path):
                raise
        if not self._inside(os.path.realpath(parent)):  # re-checked now that it exists
            _reject(staged.path, "it resolves outside the artifact root")
        if os.path.isdir(local) and not os.path.islink(local):
            _reject(staged.path, "it is a directory")
        try:
            os.replace(staged.temp, local)  # replaces a symlink itself, never what it points at
        except OSError:
            self._remove_empty_parents(parent)
            with _writing(staged.path):
                raise

    def _remove_empty_parents(self, parent: str) -> None:
        # The parents made for an upload that then failed hold nothing: leave no trace of it.
        while parent != self.root and self._inside(parent):
            try:
                os.rmdir(parent)
            except (FileNotFoundError, NotADirectoryError):
                pass  # never made (makedirs stopped below it)
            except OSError as error:
                if error.errno != errno.ENAMETOOLONG:
                    return  # not empty: it held something before this upload
            parent = os.path.dirname(parent)

    def discard(self, staged: Staged) -> None:
        try:
            os.unlink(staged.temp)
        except FileNotFoundError:
            pass  # already published

    def open(self, path: str) -> BinaryIO:
        local = self._local(path)
        if not os.path.isfile(local):
            raise ResourceDoesNotExist(f"Artifact '{path}' not found.")
        return open(local, "rb")  # noqa: SIM115 (the response streams and closes it)

    def list(self, path: str) -> list[Entry] | None:
        local = self._local(path)
        if not os.path.isdir(local):
            return None
        entries = []
        with os.scandir(local) as found:
            for entry in found:
                if (not path and entry.name == _STAGING) or not self._inside(
                    os.path.realpath(entry.path)
                ):
                    continue  # staging files and links out of the root are not artifacts
                is_dir = entry.is_dir()
                size = None if is_dir else entry.stat().st_size
                entries.append(Entry(entry.name, is_dir, size))
        return sorted(entries, key=lambda e: e.name)

    def delete(self, path: str) -> None:
        if not path:
            _reject(path, "the artifact root cannot be deleted")
        local = self._local(path)
        with _writing(path):
            if os.path.islink(local) or os.path.isfile(local):
                os.unlink(local)
            elif os.path.isdir(local):
                shutil.rmtree(local)


def init_app(app: Flask) -> None:
    """Open the local store at PODIUM_ARTIFACTS_DESTINATION for this app."""
    app.extensions[_EXTENSION_KEY] = LocalArtifactStore(app.config["PODIUM_ARTIFACTS_DESTINATION"])


def current_store() -> ArtifactStore:
    """The store of the app handling the current request."""
    return current_app.extensions[_EXTENSION_KEY]
