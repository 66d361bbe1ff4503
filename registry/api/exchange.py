"""How a view meets the wire: load the request with a schema, dump the result with another.

GET parameters come from the query string (repeated keys for lists); POST, PATCH and DELETE
carry a JSON object body. Every success is HTTP 200 with a JSON object, as the MLflow client
requires.
"""

import functools
import json

from flask import current_app, g, jsonify, request
from marshmallow import Schema, fields

from registry.errors import InvalidParameter
from registry.schemas.dumping import dumper

# Parsing turns each short JSON value (`{}`, `[]`, `"ab"`, `1.5`) into 24 to 60 bytes of Python
# object, so a body of nothing else would take up to twenty times its size before any schema
# saw it. Every value but the first in an array or object follows a comma, so commas plus
# brackets bound the number of values (from above: some stand inside strings). Real requests
# have a few thousand (a full log-batch about 5,000); past this a body is refused unparsed.
MAX_JSON_VALUES = 100_000


def exchange(request_schema: Schema | None = None, response_schema: Schema | None = None):
    """Decorate a view taking the loaded request (if any) and returning what the response dumps."""

    dump = dumper(response_schema) if response_schema is not None else None

    def decorate(view):
        @functools.wraps(view)
        def wrapper(**path_args):
            if request_schema is None:
                result = view(**path_args)
            else:
                result = view(request_schema.load(request_fields(request_schema)), **path_args)
            if dump is None:
                return jsonify({})
            body = dump(result)
            if current_app.testing:  # the test suite cross-checks every response with marshmallow
                assert body == response_schema.dump(result), "fast dump differs from the schema"
            return jsonify(body)

        # Read by registry.api.openapi to document the route from the same schemas.
        wrapper.request_schema = request_schema
        wrapper.response_schema = response_schema
        return wrapper

    return decorate


def request_fields(schema: Schema) -> dict:
    """The request's fields: its JSON body, or for GET, HEAD and bodiless calls the query."""
    # HEAD is a GET without the body: the same fields, the same status and headers.
    reads_query = request.method in ("GET", "HEAD")
    body = _json_body() if not reads_query else None
    if body is not None:
        return body
    if not reads_query and request.method != "DELETE":
        return {}
    lists = {name for name, field in schema.fields.items() if isinstance(field, fields.List)}
    return {
        name: request.args.getlist(name) if name in lists else request.args.get(name)
        for name in request.args
    }


def caller() -> str:
    """Who is acting: the signed-in user; with authentication off, the user name the client
    sends (unverified, for the record), or empty."""
    user = g.get("user")
    if user is not None:
        return user.username
    auth = request.authorization
    name = (auth.username or "") if auth is not None else ""
    # Recorded in history, so keep it storable: no control characters, bounded length.
    return "".join(ch for ch in name if ch.isprintable())[:256]


def _json_body() -> dict | None:
    """The body as a JSON object, or None when the request has no body at all."""
    raw = request.get_data(cache=True)  # enforces MAX_CONTENT_LENGTH: 413 beyond it
    if not raw.strip():
        return None
    if request.mimetype != "application/json":
        raise InvalidParameter("Bad Request. Content-Type must be one of ['application/json'].")
    try:
        # Decode strictly first: json.loads(bytes) would let encoded surrogates through.
        text = raw.decode("utf-8")
        if text.count(",") + text.count("[") + text.count("{") > MAX_JSON_VALUES:
            raise InvalidParameter(
                f"The request body holds more than {MAX_JSON_VALUES} JSON values (counting "
                "commas and brackets); split it into several requests."
            )
        body = json.loads(text)
    except RecursionError:
        raise InvalidParameter("Malformed JSON request body: nested too deeply.") from None
    except ValueError as error:  # includes UnicodeDecodeError
        raise InvalidParameter(f"Malformed JSON request body: {error}") from None
    if not isinstance(body, dict):
        raise InvalidParameter("Malformed JSON request body: expected a JSON object.")
    return body
