"""Paging for every listing: MLflow's page tokens and one page of an ordered query."""

import base64
import json
from collections.abc import Callable

from registry.errors import InvalidParameter
from registry.search.grammar import INT64


def fetch_page(
    read: Callable[[int, int], list], *, max_results: int, page_token: str | None
) -> tuple[list, dict]:
    """One page of an ordered listing, `read(limit, offset)` giving its rows; and
    {"next_page_token"} when more remain.

    Reads one row more than asked, to know whether another page exists without counting.
    """
    offset = decode_page_token(page_token)
    rows = read(max_results + 1, offset)
    if len(rows) <= max_results:
        return rows, {}
    return rows[:max_results], {"next_page_token": encode_page_token(offset + max_results)}


def sliced(query) -> Callable[[int, int], list]:
    """`read` for fetch_page over an ordered peewee query."""
    return lambda limit, offset: list(query.limit(limit).offset(offset))


def encode_page_token(offset: int) -> str:
    """MLflow's page token: base64 of JSON {"offset": N}."""
    return base64.b64encode(json.dumps({"offset": offset}).encode()).decode()


def decode_page_token(token: str | None) -> int:
    """The row offset a page token stands for; 0 for no token."""
    if not token:
        return 0
    try:
        decoded = base64.b64decode(token, validate=True)
    except ValueError:  # binascii.Error, or text that is not even ASCII
        raise InvalidParameter("Invalid page token, could not base64-decode") from None
    try:
        parsed = json.loads(decoded)
    except ValueError:
        raise InvalidParameter(f"Invalid page token, decoded value={decoded!r}") from None
    offset = parsed.get("offset") if isinstance(parsed, dict) else None
    # bool is an int in Python; JSON true is not an offset.
    if type(offset) is not int or offset not in INT64 or offset < 0:
        raise InvalidParameter(f"Invalid page token, parsed value={parsed!r}")
    return offset
