"""Which artifact store PODIUM_ARTIFACTS_DESTINATION names, and the app's handle on it.

`PODIUM_ARTIFACTS_DESTINATION` is a directory (registry.artifacts.local) or `s3://bucket/prefix`
(registry.artifacts.s3, any S3-compatible service); the interface both implement is
registry.artifacts.interface. Another backend (Azure Blob, GCS, ...) is one module with a class
that has those methods, and one line in `open_store` that maps its URI scheme to it.
"""

import os

from flask import Flask, current_app

from registry.artifacts.interface import ArtifactStore, StoreConfigError
from registry.errors import PodiumError

_EXTENSION_KEY = "podium_artifact_store"


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
