"""The S3 store: artifacts as objects under s3://bucket/prefix, on AWS or any S3-compatible
service (MinIO, Ceph, R2, moto, ...). Needs boto3: `pip install 'podium-registry[s3]'`.

Credentials, region and endpoint come from boto3's usual sources (AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION, AWS_ENDPOINT_URL, ~/.aws, instance roles), and
MLFLOW_S3_ENDPOINT_URL / MLFLOW_S3_IGNORE_TLS as MLflow's own server reads them.

An object appears only when S3 is told it is complete, which gives the store its whole-or-
nothing uploads without copies: a body smaller than one part is held in memory and written
with one PutObject at `publish`; a larger one streams into a multipart upload, part by part,
that `publish` completes and `discard` aborts. Downloads stream from S3 in blocks; listings
page through the bucket.
"""

import hashlib
import logging
import os
import tempfile
import threading
import uuid
from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from io import RawIOBase
from typing import BinaryIO
from urllib.parse import urlsplit

from registry.artifacts.interface import Entry, Staged, StoreConfigError, StoredFile
from registry.artifacts.paths import reject, shown
from registry.errors import (
    InvalidParameter,
    ResourceConflict,
    ResourceDoesNotExist,
    StorageFull,
    TemporarilyUnavailable,
)

MIN_PART_SIZE = 5 * 1024 * 1024  # S3's smallest part but the last
_FULL = {"EntityTooLarge", "QuotaExceeded", "XMinioStorageFull", "XMinioAdminBucketQuotaExceeded"}
_BUSY = {"SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout", "Throttling"}
_MISCONFIGURED = {
    "NoSuchBucket",
    "AccessDenied",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "AllAccessDisabled",
    "AuthorizationHeaderMalformed",
    "PermanentRedirect",
}
_MISSING = {"NoSuchKey", "404", "NotFound"}

log = logging.getLogger(__name__)


@dataclass
class _Upload:
    """A staged upload: a small one's bytes in a spool file, or the multipart upload holding a
    large one."""

    key: str
    spool: BinaryIO | None = None
    upload_id: str | None = None
    parts: list[dict] = field(default_factory=list)
    published: bool = False


class _Body(RawIOBase):
    """An S3 object body as a readable stream, with no fileno (so it is never sendfile'd)."""

    def __init__(self, body):
        self._body = body

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._body.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._body.close()
        super().close()


class S3ArtifactStore:
    """Artifacts as objects under one bucket and prefix."""

    supports_multipart = True

    def __init__(self, destination: str, *, part_size: int = 8 * 1024 * 1024):
        try:
            import boto3  # noqa: F401 (only checked here; the client is made per process)
        except ImportError:
            raise StoreConfigError(
                f"PODIUM_ARTIFACTS_DESTINATION={destination} needs boto3, which is not "
                "installed: pip install 'podium-registry[s3]'"
            ) from None
        parts = urlsplit(destination)
        if not parts.netloc:
            raise StoreConfigError(
                f"PODIUM_ARTIFACTS_DESTINATION={destination!r} names no bucket: "
                "use s3://bucket or s3://bucket/prefix"
            )
        self.bucket, self.prefix = parts.netloc, parts.path.strip("/")
        self.part_size = max(part_size, MIN_PART_SIZE)
        self.endpoint = (
            os.environ.get("MLFLOW_S3_ENDPOINT_URL")
            or os.environ.get("AWS_ENDPOINT_URL_S3")
            or os.environ.get("AWS_ENDPOINT_URL")
            or None
        )
        where = f" at {self.endpoint}" if self.endpoint else ""
        self.description = f"s3://{self.bucket}/{self.prefix}{where}"
        self._client, self._client_pid, self._lock = None, None, threading.Lock()

    @property
    def client(self):
        """This process's boto3 client (made after gunicorn forks: connections are not shared)."""
        if self._client is None or self._client_pid != os.getpid():
            with self._lock:
                if self._client is None or self._client_pid != os.getpid():
                    self._client, self._client_pid = self._new_client(), os.getpid()
        return self._client

    def _new_client(self):
        import boto3
        from botocore.config import Config

        config = Config(
            retries={"max_attempts": 3, "mode": "standard"},
            connect_timeout=5,
            read_timeout=60,
            max_pool_connections=32,
            # A custom endpoint (MinIO, a loopback test server) seldom has a DNS name per bucket.
            s3={"addressing_style": "path" if self.endpoint else "auto"},
            # botocore's default CRC32 on every upload reads each part once more and is refused
            # by several S3-compatible stores; S3 checks what it needs (SigV4, Content-MD5).
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        verify = os.environ.get("MLFLOW_S3_IGNORE_TLS", "").lower() not in ("1", "true", "yes")
        session = boto3.session.Session()
        return session.client("s3", endpoint_url=self.endpoint, config=config, verify=verify)

    def _key(self, path: str) -> str:
        return f"{self.prefix}/{path}" if self.prefix and path else (self.prefix or path)

    def _directory(self, path: str) -> str:
        """The key prefix of everything below `path` ('' lists the whole bucket)."""
        key = self._key(path)
        return f"{key}/" if key else ""

    # --- uploads -------------------------------------------------------------------------

    def _refuse_clashes(self, path: str) -> None:
        """Refuse to put a file where a directory is, or below a file, as a file system would."""
        found = self.client.list_objects_v2(
            Bucket=self.bucket, Prefix=self._directory(path), MaxKeys=1
        )
        if found.get("KeyCount", 0):
            reject(path, "it is a directory")
        segments = path.split("/")
        for depth in range(1, len(segments)):
            if self._exists(self._key("/".join(segments[:depth]))):
                reject(path, "a parent of it is a file")

    def _exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in _MISSING:
                return False
            raise
        return True

    def stage(self, path: str, chunks: Iterable[bytes]) -> Staged:
        # Each part is gathered in a temporary file, not in memory: a part held as one bytes
        # object, with its copies, costs several times its size in a worker's resident memory.
        upload = _Upload(self._key(path), spool=tempfile.TemporaryFile(prefix="podium-upload-"))
        digest, size = hashlib.sha256(), 0
        with self._errors(path):
            try:
                self._refuse_clashes(path)
                for chunk in chunks:
                    digest.update(chunk)
                    size += len(chunk)
                    upload.spool.write(chunk)
                    if upload.spool.tell() >= self.part_size:
                        self._send_part(upload)
                if upload.upload_id is not None and upload.spool.tell():
                    self._send_part(upload)
                upload.spool.seek(0)
            except BaseException:
                self._abort(upload)
                raise
        return Staged(path, upload, size, digest.hexdigest())

    def _send_part(self, upload: _Upload) -> None:
        """Send what the spool holds as the next part, and empty it."""
        if upload.upload_id is None:
            created = self.client.create_multipart_upload(Bucket=self.bucket, Key=upload.key)
            upload.upload_id = created["UploadId"]
        number, length = len(upload.parts) + 1, upload.spool.tell()
        upload.spool.seek(0)
        sent = self.client.upload_part(
            Bucket=self.bucket,
            Key=upload.key,
            UploadId=upload.upload_id,
            PartNumber=number,
            Body=upload.spool,
            ContentLength=length,
        )
        upload.parts.append({"PartNumber": number, "ETag": sent["ETag"]})
        upload.spool.seek(0)
        upload.spool.truncate()

    def publish(self, staged: Staged) -> None:
        upload: _Upload = staged.handle
        if upload.published:  # its record is being written again (a retried transaction)
            return
        with self._errors(staged.path):
            if upload.upload_id is None:
                upload.spool.seek(0)  # from the start, also when a transaction is retried
                self.client.put_object(Bucket=self.bucket, Key=upload.key, Body=upload.spool)
            else:
                self.client.complete_multipart_upload(
                    Bucket=self.bucket,
                    Key=upload.key,
                    UploadId=upload.upload_id,
                    MultipartUpload={"Parts": upload.parts},
                )
            upload.published = True

    def discard(self, staged: Staged) -> None:
        upload: _Upload = staged.handle
        if not upload.published:
            self._abort(upload)
        elif upload.spool is not None:
            upload.spool.close()

    def _abort(self, upload: _Upload) -> None:
        if upload.spool is not None:
            upload.spool.close()
        if upload.upload_id is None:
            return
        try:
            self.client.abort_multipart_upload(
                Bucket=self.bucket, Key=upload.key, UploadId=upload.upload_id
            )
        except Exception as error:  # the bucket's lifecycle rule removes what is left
            log.warning("could not abort multipart upload of %s: %s", shown(upload.key), error)

    # --- reads and deletes -------------------------------------------------------------

    def open(self, path: str) -> StoredFile:
        from botocore.exceptions import ClientError

        with self._errors(path):
            try:
                found = self.client.get_object(Bucket=self.bucket, Key=self._key(path))
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") in _MISSING:
                    raise ResourceDoesNotExist(f"Artifact '{path}' not found.") from None
                raise
        return StoredFile(_Body(found["Body"]), found["ContentLength"])

    def list(self, path: str) -> list[Entry] | None:
        prefix, entries = self._directory(path), []
        with self._errors(path):
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=prefix, Delimiter="/"
            )
            for page in pages:
                for common in page.get("CommonPrefixes", ()):
                    entries.append(Entry(common["Prefix"][len(prefix) :].rstrip("/"), True, None))
                for found in page.get("Contents", ()):
                    name = found["Key"][len(prefix) :]
                    if name:  # a "directory marker" some tools write is not a file
                        entries.append(Entry(name, False, found["Size"]))
        if not entries and path:
            return None
        return sorted(entries, key=lambda e: e.name)

    def delete(self, path: str) -> None:
        if not path:
            reject(path, "the artifact root cannot be deleted")
        key, below = self._key(path), self._directory(path)
        with self._errors(path):
            self._abort_uploads_under(key, below)
            batch = [{"Key": key}]
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=below
            )
            for page in pages:
                for found in page.get("Contents", ()):
                    batch.append({"Key": found["Key"]})
                    if len(batch) == 1000:  # DeleteObjects' limit
                        self._delete_batch(path, batch)
                        batch = []
            if batch:
                self._delete_batch(path, batch)

    def _delete_batch(self, path: str, batch: Sequence[dict]) -> None:
        done = self.client.delete_objects(
            Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True}
        )
        errors = [e for e in done.get("Errors", ()) if e.get("Code") not in _MISSING]
        if errors:
            log.warning("artifact store kept %d objects deleting %s", len(errors), shown(path))
            raise ResourceConflict(
                f"The artifact store did not delete {len(errors)} object(s) below '{path}' "
                f"({errors[0].get('Code')}); nothing else was kept, try again."
            )

    def _abort_uploads_under(self, key: str, below: str) -> None:
        # Uploads in flight below a deleted directory would otherwise make files reappear.
        pages = self.client.get_paginator("list_multipart_uploads").paginate(
            Bucket=self.bucket, Prefix=key
        )
        for page in pages:
            for found in page.get("Uploads", ()):
                if found["Key"] == key or found["Key"].startswith(below):
                    self._abort(_Upload(found["Key"], upload_id=found["UploadId"]))

    def check(self) -> None:
        key = self._key(f".podium-check/{uuid.uuid4().hex}")
        with self._errors(key):
            self.client.put_object(Bucket=self.bucket, Key=key, Body=b"podium")
            try:
                body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
                if body != b"podium":
                    raise ResourceConflict("a probe object read back different bytes")
            finally:
                self.client.delete_object(Bucket=self.bucket, Key=key)

    # --- MLflow's multipart uploads: S3's own, parts passed through ----------------------

    def create_upload(self, path: str) -> str:
        with self._errors(path):
            self._refuse_clashes(path)
            return self.client.create_multipart_upload(Bucket=self.bucket, Key=self._key(path))[
                "UploadId"
            ]

    def put_part(self, path: str, upload_id: str, number: int, chunks: Iterable[bytes]) -> str:
        # Spooled to a local temporary file: S3 needs each part's length up front, and a part
        # may be far larger than memory should hold.
        with tempfile.TemporaryFile(prefix="podium-part-") as spool, self._errors(path):
            for chunk in chunks:
                spool.write(chunk)
            size = spool.tell()
            spool.seek(0)
            sent = self.client.upload_part(
                Bucket=self.bucket,
                Key=self._key(path),
                UploadId=upload_id,
                PartNumber=number,
                Body=spool,
                ContentLength=size,
            )
        return sent["ETag"]

    def assemble(self, path: str, upload_id: str, parts: Sequence[tuple[int, str]]) -> Staged:
        key, stored = self._key(path), {}
        with self._errors(path):
            pages = self.client.get_paginator("list_parts").paginate(
                Bucket=self.bucket, Key=key, UploadId=upload_id
            )
            for page in pages:
                for part in page.get("Parts", ()):
                    stored[part["PartNumber"]] = part
        for number, etag in parts:
            if number not in stored:
                raise InvalidParameter(f"Part {number} of upload '{upload_id}' was not sent.")
            if etag and etag.strip('"') != stored[number]["ETag"].strip('"'):
                raise InvalidParameter(
                    f"Part {number} of upload '{upload_id}' does not match its ETag."
                )
        upload = _Upload(key, upload_id=upload_id)
        upload.parts = [{"PartNumber": n, "ETag": stored[n]["ETag"]} for n, _etag in parts]
        size = sum(stored[n]["Size"] for n, _etag in parts)
        return Staged(path, upload, size, "")  # parts came in parallel: no digest of the whole

    def abort_upload(self, path: str, upload_id: str) -> None:
        with self._errors(path):
            self.client.abort_multipart_upload(
                Bucket=self.bucket, Key=self._key(path), UploadId=upload_id
            )

    # --- what S3 says, as an answer for the client ---------------------------------------

    @contextmanager
    def _errors(self, path: str):
        """Turn S3's refusals and outages into MLflow-style errors (never a bare 500)."""
        from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

        try:
            yield
        except ClientError as error:
            raise self._answer(path, error) from None
        except NoCredentialsError:
            log.error("artifact store %s: no credentials found", self.description)
            raise TemporarilyUnavailable(
                "The artifact store cannot be reached: Podium has no credentials for it.",
                retry_after=30,
            ) from None
        except BotoCoreError as error:  # connection refused, reset, timed out, DNS
            log.warning("artifact store %s unreachable: %s", self.description, error)
            raise TemporarilyUnavailable(
                "The artifact store is unreachable; nothing was changed. Retry shortly.",
                retry_after=2,
            ) from None

    def _answer(self, path: str, error) -> Exception:
        code = error.response.get("Error", {}).get("Code", "")
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        if code in _FULL:
            log.warning("artifact store full writing %s: %s", shown(path), code)
            return StorageFull(
                f"The artifact store is full or refuses an object this large ({code}); nothing "
                "was stored. Reads still work; retry once space is freed."
            )
        if code in _BUSY or status >= 500:
            log.warning("artifact store busy for %s: %s", shown(path), code or status)
            return TemporarilyUnavailable(
                f"The artifact store is busy ({code or status}); nothing was changed.",
                retry_after=2,
            )
        if code in _MISCONFIGURED:
            log.error("artifact store %s refuses Podium: %s", self.description, code)
            return TemporarilyUnavailable(
                f"The artifact store refuses Podium ({code}): check "
                "PODIUM_ARTIFACTS_DESTINATION and the store's credentials.",
                retry_after=30,
            )
        if code in ("NoSuchUpload",):
            return ResourceDoesNotExist(f"Multipart upload to '{path}' not found.")
        if code in ("InvalidPart", "InvalidPartOrder", "EntityTooSmall", "InvalidArgument"):
            return InvalidParameter(f"The artifact store refused the upload of '{path}': {code}.")
        log.warning("artifact store refused %s: %s", shown(path), code or status)
        return ResourceConflict(
            f"The artifact store refused '{shown(path)}' ({code or status}); nothing was changed."
        )
