"""Secrets at rest: the columns that hold them are Fernet-encrypted under Podium's secret keys.

The keys come from PODIUM_SECRET_KEY (comma-separated), else from the file PODIUM_SECRET_KEY_FILE
(one key a line), else, on SQLite only, from a key file beside the database that the first
process to start creates. The first key encrypts; every key decrypts, so a rotation lists the
new key first and the old one after it until `podium secrets rotate` has re-encrypted every
stored secret. A key is never stored in the database: a copy of the database (or an export)
alone does not reveal a webhook's secret.

PostgreSQL has no "beside the database" on the web hosts, and hosts that each made a key of
their own could not read each other's secrets, so there the key must be given explicitly.
"""

import logging
import os
import uuid
from collections.abc import Sequence
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from peewee import Model, TextField
from playhouse import db_url

log = logging.getLogger(__name__)

KEY_FILE_SUFFIX = ".key"  # the default key file: the SQLite database's path plus this
MAX_OPENED = 4096  # decrypted tokens kept per process (about one per webhook secret)


class SecretKeyError(RuntimeError):
    """Podium's secret keys are missing or malformed, or do not open a stored secret."""


class _KeyRing:
    """The configured keys, set once per process by `configure` (store.setup calls it)."""

    def __init__(self):
        self.fernet: MultiFernet | None = None
        self.source = "no key configured"
        # Plaintexts of tokens already opened with these keys. A token never changes (a new
        # secret is a new token), so this serves nothing stale; it spares the dispatcher a
        # Fernet decryption per webhook per claim (~9% of its CPU draining a backlog).
        self.opened: dict[str, str] = {}

    def require(self) -> MultiFernet:
        if self.fernet is None:
            raise SecretKeyError("secret keys are not configured (store.setup configures them)")
        return self.fernet


keyring = _KeyRing()


def configure(settings: dict) -> None:
    """Load the keys named by the settings (creating the default key file if need be)."""
    keys, source = load_keys(settings)
    keyring.fernet = MultiFernet([_fernet(key, source) for key in keys])
    keyring.source = source
    keyring.opened = {}


def load_keys(settings: dict) -> tuple[list[str], str]:
    """The keys, first one encrypting, and a description of where they came from."""
    keys = settings.get("PODIUM_SECRET_KEY")
    if isinstance(keys, str):  # a config dict given to create_app may hold the raw variable
        keys = [key.strip() for key in keys.split(",") if key.strip()]
    if keys:
        return list(keys), "PODIUM_SECRET_KEY"
    if settings.get("PODIUM_SECRET_KEY_FILE"):
        path = Path(settings["PODIUM_SECRET_KEY_FILE"])
        return _read_or_create(path), f"PODIUM_SECRET_KEY_FILE {path}"
    url = settings["PODIUM_DATABASE_URL"]
    if not url.startswith("sqlite:"):
        raise SecretKeyError(
            "PODIUM_SECRET_KEY or PODIUM_SECRET_KEY_FILE must be set on PostgreSQL, the same on "
            "every host: webhook secrets are encrypted with it (make one: podium secrets new-key)"
        )
    path = default_key_file(url)
    return _read_or_create(path), f"key file {path}"


def default_key_file(sqlite_url: str) -> Path:
    """The key file beside a SQLite database: `podium.db` -> `podium.db.key`."""
    return Path(db_url.parse(sqlite_url)["database"] + KEY_FILE_SUFFIX)


def new_key() -> str:
    """A fresh random key in the form PODIUM_SECRET_KEY takes."""
    return Fernet.generate_key().decode()


def encrypt(plaintext: str) -> str:
    """`plaintext` encrypted (and authenticated) with the first key."""
    return keyring.require().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    """The plaintext of a stored token; SecretKeyError if no configured key opens it."""
    opened = keyring.opened.get(token)
    if opened is not None:
        return opened
    try:
        plaintext = keyring.require().decrypt(token.encode()).decode()
    except InvalidToken:
        raise SecretKeyError(
            f"a stored webhook secret cannot be decrypted with the keys from {keyring.source}: "
            "configure the key it was encrypted with (during a rotation, list it after the new "
            "one)"
        ) from None
    if len(keyring.opened) >= MAX_OPENED:
        keyring.opened.clear()
    keyring.opened[token] = plaintext
    return plaintext


class EncryptedTextField(TextField):
    """A text column stored encrypted: code reads and writes plaintext, the database holds
    Fernet tokens."""

    def db_value(self, value):
        return None if value is None else encrypt(value)

    def python_value(self, value):
        return None if value is None else decrypt(value)


def encrypted_fields(model: type[Model]) -> list[EncryptedTextField]:
    """The columns of `model` that hold secrets."""
    return [f for f in model._meta.sorted_fields if isinstance(f, EncryptedTextField)]


def _stored(model: type[Model], field) -> list[tuple]:
    """(primary key, stored value) of every row, read past the field's decryption."""
    key = model._meta.primary_key
    cursor = model._meta.database.execute_sql(
        f'SELECT "{key.column_name}", "{field.column_name}" FROM "{model._meta.table_name}"'
    )
    return [row for row in cursor.fetchall() if row[1] is not None]


def encrypt_plaintext_columns(models: Sequence[type[Model]]) -> int:
    """Encrypt stored values that are still plaintext (a database from before encryption);
    return how many. Runs inside the caller's transaction."""
    count = 0
    for model in models:
        for field in encrypted_fields(model):
            for key, stored in _stored(model, field):
                if _opens(stored):
                    continue
                model.update({field: stored}).where(model._meta.primary_key == key).execute()
                count += 1
    return count


def reencrypt(models: Sequence[type[Model]]) -> int:
    """Re-encrypt every stored secret with the first key (after a key rotation); return how
    many. Runs inside the caller's transaction."""
    count = 0
    for model in models:
        for field in encrypted_fields(model):
            for key, stored in _stored(model, field):
                plaintext = decrypt(stored)  # refuses, naming the keys, if none opens it
                model.update({field: plaintext}).where(model._meta.primary_key == key).execute()
                count += 1
    return count


def verify_stored(models: Sequence[type[Model]]) -> None:
    """Refuse to go on (SecretKeyError) if a stored secret does not open with the keys."""
    for model in models:
        for field in encrypted_fields(model):
            for _key, stored in _stored(model, field):
                decrypt(stored)


def _opens(token: str) -> bool:
    try:
        keyring.require().decrypt(token.encode())
    except InvalidToken:
        return False
    return True


def _fernet(key: str, source: str) -> Fernet:
    try:
        return Fernet(key.strip().encode())
    except ValueError:
        raise SecretKeyError(
            f"{source}: a key must be 32 url-safe base64-encoded bytes "
            "(make one: podium secrets new-key)"
        ) from None


def _read_or_create(path: Path) -> list[str]:
    """The keys in `path`; if there is no such file, create it holding one new key.

    Several workers or hosts may start at once: the key is written to a private temporary file
    and linked into place, which fails if another process got there first, so every process
    ends up reading the one file that won, and none ever reads a half-written one.
    """
    try:
        if not path.exists():
            _create_key_file(path)
        lines = path.read_text(encoding="ascii").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise SecretKeyError(
            f"cannot read or create the secret key file {path}: {error}; set "
            "PODIUM_SECRET_KEY_FILE to a readable, writable place, or PODIUM_SECRET_KEY"
        ) from None
    keys = [line.strip() for line in lines]
    keys = [key for key in keys if key and not key.startswith("#")]
    if not keys:
        raise SecretKeyError(f"the secret key file {path} holds no key")
    return keys


def _create_key_file(path: Path) -> None:
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with open(descriptor, "w", encoding="ascii") as handle:
            handle.write(new_key() + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.link(temporary, path)  # atomic, and refused if the name exists
    except FileExistsError:
        return  # another process created it first: every process uses that one
    finally:
        os.unlink(temporary)
    log.warning(
        "created the secret key file %s (mode 0600), which encrypts webhook secrets: "
        "back it up with the database, and give every host the same one",
        path,
    )
