"""The rules every client-given artifact path is held to before any store sees it.

A path is decoded (repeatedly), normalised and refused if it climbs out (`..` in any encoding,
backslashes, absolute paths, NUL and other control characters), names the staging area, or has
a segment longer than a file system holds. What a store receives is canonical and relative,
'/'-separated, so a store only has to map it onto its own namespace.
"""

import re
import unicodedata
from urllib.parse import unquote

from registry.errors import InvalidParameter

MAX_PATH_LENGTH = 4096
# Linux file systems (ext4, XFS, tmpfs, overlayfs) refuse a name longer than 255 bytes with an
# OSError; checked up front, so the client hears which segment and why.
MAX_SEGMENT_BYTES = 255
STAGING = ".podium-staging"  # uploads in progress; never an artifact
_MAX_DECODE_LAYERS = 10
_DRIVE = re.compile(r"^[A-Za-z]:")


def artifact_path(raw: str, *, allow_root: bool = False) -> str:
    """The canonical relative form of a client-given artifact path; InvalidParameter if unsafe."""
    if len(raw) > MAX_PATH_LENGTH:
        reject(raw, f"it is longer than {MAX_PATH_LENGTH} characters")
    views = [raw]
    for _ in range(_MAX_DECODE_LAYERS):  # %2e%2e, %252e%252e, ... are all '..' to someone
        try:
            decoded = unquote(views[-1], errors="strict")
        except UnicodeDecodeError:
            reject(raw, "percent-encoded bytes are not valid UTF-8")
        if decoded == views[-1]:
            break
        views.append(decoded)
    else:
        reject(raw, "too many layers of percent-encoding")
    views.append(unicodedata.normalize("NFKC", views[-1]))
    for view in views:
        if any(unicodedata.category(c) in ("Cc", "Cf", "Cs", "Zl", "Zp") for c in view):
            reject(raw, "control and invisible characters (NUL included) are not allowed")
        if "\\" in view:
            reject(raw, "backslashes are not allowed")
        if view.startswith("/") or _DRIVE.match(view):
            reject(raw, "absolute paths are not allowed")
        if any(segment.startswith("..") and not segment.strip(". ") for segment in view.split("/")):
            reject(raw, "'..' is not allowed")
    path = raw[:-1] if raw.endswith("/") else raw  # the client names directories so, at times
    if not path:
        if allow_root:
            return ""
        reject(raw, "it names the artifact root")
    segments = path.split("/")
    if any(segment in ("", ".") for segment in segments):
        reject(raw, "empty and '.' segments are not allowed")
    if segments[0] == STAGING:
        reject(raw, f"'{STAGING}' is reserved")
    long = next((s for s in segments if len(s.encode("utf-8")) > MAX_SEGMENT_BYTES), None)
    if long is not None:
        reject(raw, f"the name '{long[:40]}...' is longer than {MAX_SEGMENT_BYTES} bytes")
    return path


def reject(raw: str, reason: str):
    """Refuse a path with a 400 that says why."""
    raise InvalidParameter(f"Invalid artifact path '{shown(raw)}': {reason}.")


def shown(raw: str) -> str:
    """A path fit for a message or a log line: clipped, control characters escaped."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in raw[:200])
