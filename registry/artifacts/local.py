"""The local store: artifacts as files under one directory (PODIUM_ARTIFACTS_DESTINATION).

Each checked path is resolved (symlinks included) and refused if it lands outside the root.
Uploads are streamed into a staging file inside the root and renamed into place, so a reader
never sees a partial artifact and an interrupted upload leaves nothing behind. Multipart uploads
keep their parts in a staging directory of their own and are assembled into one staging file,
then published the same way.
"""

import errno
import hashlib
import logging
import os
import re
import secrets
import shutil
import tempfile
import time
from collections.abc import Iterable, Sequence
from contextlib import contextmanager

from registry.artifacts.interface import Entry, Staged, StoredFile
from registry.artifacts.paths import STAGING, reject, shown
from registry.errors import InvalidParameter, ResourceConflict, ResourceDoesNotExist, StorageFull

# What the file system says about a name the client chose: the client's to fix (400).
_BAD_NAME_ERRNOS = {errno.ENAMETOOLONG, errno.EINVAL, errno.EILSEQ, errno.ENOTDIR, errno.EISDIR}
_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
_UPLOAD_ID = re.compile(r"[0-9a-f]{32}")
_MULTIPART = "multipart"  # below the staging directory: one directory per multipart upload
# A multipart upload that has taken no part for this long is abandoned: its parts are removed
# when the next one starts (S3 users get the same from a bucket lifecycle rule).
ABANDONED_AFTER_SECONDS = 7 * 24 * 3600

log = logging.getLogger(__name__)


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
            log.warning("artifact root is full writing %s: %s", shown(path), error.strerror)
            raise StorageFull(
                "The artifact store is full: no space is left for this upload; nothing was "
                "stored. Reads still work; retry once space is freed."
            ) from None
        if error.errno in _BAD_NAME_ERRNOS:
            reject(path, f"the artifact store cannot hold it ({error.strerror})")
        log.warning("artifact store refused %s: %s", shown(path), error)
        raise ResourceConflict(
            f"The artifact store refused to write '{shown(path)}': {error.strerror or error}."
        ) from None


class LocalArtifactStore:
    """Artifacts as files under one directory (PODIUM_ARTIFACTS_DESTINATION)."""

    supports_multipart = True

    def __init__(self, root: str):
        # A new root is private to Podium's user; an existing one keeps the mode it was given.
        os.makedirs(root, mode=0o700, exist_ok=True)
        self.root = os.path.realpath(root)
        self.description = f"directory {self.root}"

    def _inside(self, real: str) -> bool:
        return real == self.root or real.startswith(self.root + os.sep)

    def _local(self, path: str) -> str:
        """The file system path for a checked relative path, refusing what resolves outside."""
        local = os.path.join(self.root, *path.split("/")) if path else self.root
        if not self._inside(os.path.realpath(local)):
            reject(path, "it resolves outside the artifact root")
        return local

    def stage(self, path: str, chunks: Iterable[bytes]) -> Staged:
        local = self._local(path)
        if os.path.isdir(local):
            reject(path, "it is a directory")
        staging = os.path.join(self.root, STAGING)
        temp, size, digest = self._write_staging_file(path, chunks, staging)
        return Staged(path, temp, size, digest)

    def _write_staging_file(self, path: str, chunks: Iterable[bytes], directory: str):
        """Stream `chunks` into a new file in `directory`: (its path, size, SHA-256)."""
        with _writing(path):
            os.makedirs(directory, exist_ok=True)
            fd, temp = tempfile.mkstemp(dir=directory, prefix="upload-")
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
        return temp, size, digest.hexdigest()

    def publish(self, staged: Staged) -> None:
        local = self._local(staged.path)
        parent = os.path.dirname(local)
        try:
            os.makedirs(parent, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            reject(staged.path, "a parent of it is a file")
        except OSError:
            self._remove_empty_parents(parent)
            with _writing(staged.path):
                raise
        if not self._inside(os.path.realpath(parent)):  # re-checked now that it exists
            reject(staged.path, "it resolves outside the artifact root")
        if os.path.isdir(local) and not os.path.islink(local):
            reject(staged.path, "it is a directory")
        try:
            os.replace(staged.handle, local)  # replaces a symlink itself, never what it points at
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
            os.unlink(staged.handle)
        except FileNotFoundError:
            pass  # already published

    def open(self, path: str) -> StoredFile:
        local = self._local(path)
        if not os.path.isfile(local):
            raise ResourceDoesNotExist(f"Artifact '{path}' not found.")
        stream = open(local, "rb")  # noqa: SIM115 (the response streams and closes it)
        return StoredFile(stream, os.fstat(stream.fileno()).st_size)

    def list(self, path: str) -> list[Entry] | None:
        local = self._local(path)
        if not os.path.isdir(local):
            return None
        entries = []
        with os.scandir(local) as found:
            for entry in found:
                if (not path and entry.name == STAGING) or not self._inside(
                    os.path.realpath(entry.path)
                ):
                    continue  # staging files and links out of the root are not artifacts
                is_dir = entry.is_dir()
                size = None if is_dir else entry.stat().st_size
                entries.append(Entry(entry.name, is_dir, size))
        return sorted(entries, key=lambda e: e.name)

    def delete(self, path: str) -> None:
        if not path:
            reject(path, "the artifact root cannot be deleted")
        local = self._local(path)
        with _writing(path):
            if os.path.islink(local) or os.path.isfile(local):
                os.unlink(local)
            elif os.path.isdir(local):
                shutil.rmtree(local)

    def check(self) -> None:
        with tempfile.TemporaryFile(dir=self.root) as probe:
            probe.write(b"podium")
            probe.seek(0)
            if probe.read() != b"podium":
                raise OSError(errno.EIO, "a probe file read back different bytes")

    # --- multipart uploads: parts in <root>/.podium-staging/multipart/<upload id>/ ------------

    def _upload_dir(self, path: str, upload_id: str) -> str:
        """The directory of an upload to `path`; ResourceDoesNotExist for any other id."""
        directory = os.path.join(self.root, STAGING, _MULTIPART, upload_id)
        try:
            if _UPLOAD_ID.fullmatch(upload_id):
                with open(os.path.join(directory, "target"), encoding="utf-8") as target:
                    if target.read() == path:
                        return directory
        except FileNotFoundError:
            pass
        raise ResourceDoesNotExist(f"Multipart upload '{shown(upload_id)}' to '{path}' not found.")

    def create_upload(self, path: str) -> str:
        local = self._local(path)
        if os.path.isdir(local):
            reject(path, "it is a directory")
        self._remove_abandoned_uploads()
        upload_id = secrets.token_hex(16)
        directory = os.path.join(self.root, STAGING, _MULTIPART, upload_id)
        with _writing(path):
            os.makedirs(directory)
            with open(os.path.join(directory, "target"), "w", encoding="utf-8") as target:
                target.write(path)
        return upload_id

    def _remove_abandoned_uploads(self) -> None:
        uploads = os.path.join(self.root, STAGING, _MULTIPART)
        cutoff = time.time() - ABANDONED_AFTER_SECONDS
        try:
            found = [entry for entry in os.scandir(uploads) if entry.is_dir()]
        except FileNotFoundError:
            return
        for entry in found:
            # A directory's time changes with every part renamed into it: idle, not just old.
            if _UPLOAD_ID.fullmatch(entry.name) and entry.stat().st_mtime < cutoff:
                log.info("removing the parts of abandoned multipart upload %s", entry.name)
                shutil.rmtree(entry.path, ignore_errors=True)

    def put_part(self, path: str, upload_id: str, number: int, chunks: Iterable[bytes]) -> str:
        directory = self._upload_dir(path, upload_id)
        temp, _size, digest = self._write_staging_file(path, chunks, directory)
        # Renamed into place whole: a part sent again (a client retry) replaces the old one.
        os.replace(temp, os.path.join(directory, f"part-{number:05d}"))
        return digest

    def assemble(self, path: str, upload_id: str, parts: Sequence[tuple[int, str]]) -> Staged:
        directory = self._upload_dir(path, upload_id)
        named = [(n, etag, os.path.join(directory, f"part-{n:05d}")) for n, etag in parts]
        missing = [number for number, _etag, name in named if not os.path.isfile(name)]
        if missing:
            raise InvalidParameter(f"Part(s) {missing[:10]} of upload '{upload_id}' were not sent.")
        mismatched = []

        def chunks():
            for number, etag, name in named:
                digest = hashlib.sha256()
                with open(name, "rb") as part:
                    while block := part.read(1024 * 1024):
                        digest.update(block)
                        yield block
                if etag.strip('"') != digest.hexdigest():
                    mismatched.append(number)
                    return

        staged = self.stage(path, chunks())
        if mismatched:
            self.discard(staged)
            raise InvalidParameter(
                f"Part {mismatched[0]} of upload '{upload_id}' does not match its ETag."
            )
        shutil.rmtree(directory, ignore_errors=True)
        return staged

    def abort_upload(self, path: str, upload_id: str) -> None:
        shutil.rmtree(self._upload_dir(path, upload_id), ignore_errors=True)
