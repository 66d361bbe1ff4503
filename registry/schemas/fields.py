"""Fields for the registry's own values: names, versions, stages, aliases, sources, tags."""

import re

from flask import current_app, has_request_context, request
from marshmallow import ValidationError, fields
from marshmallow.validate import Length

from registry.artifacts import sources
from registry.errors import InvalidParameter
from registry.schemas.base import clipped, first_message, shown
from registry.store.tables.registry import STAGES

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_RESERVED_ALIAS = re.compile(r"^(latest|v\d+)$", re.IGNORECASE)
_ALIAS = re.compile(r"^[A-Za-z0-9_\-.]+$")
MAX_NAME_LENGTH = 256
MAX_TAG_KEY_LENGTH = 250
MAX_TAG_VALUE_LENGTH = 100_000
# Entries in one request list (tags, params, ids, names...), unless a field says otherwise.
MAX_ITEMS = 1000
MAX_ORDER_BY = 10  # order_by clauses: each sorts by a different key, and searches have few keys
MAX_STAGES = 10  # a stage filter: there are four stages
# Every integer a request carries is bounded here: both databases store 64-bit integers at
# most, and a larger one would reach the driver and fail there (OverflowError, a 500).
INT64 = range(-(2**63), 2**63)


class _Verbatim(fields.String):
    """A string field whose own error messages reach the client unchanged.

    Every string must also be storable as-is on both backends: PostgreSQL refuses NUL, and
    neither database can store a lone UTF-16 surrogate (which JSON can spell as "\\ud800").
    """

    verbatim_errors = True

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise ValidationError(
                f"Invalid value {shown(value)} for parameter '{attr}': not a string."
            )
        if "\x00" in value:
            raise ValidationError(f"Parameter '{attr}' may not contain NUL characters.")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValidationError(
                f"Parameter '{attr}' is not valid Unicode (it holds a lone surrogate)."
            ) from None
        return self.check(value, attr)

    def check(self, value: str, attr: str):
        return value


class Text(_Verbatim):
    """Free text (descriptions, comments, ids from elsewhere), bounded in length."""

    def __init__(self, *, max_length: int, **kwargs):
        super().__init__(**kwargs)
        self.max_length = max_length

    def check(self, value, attr):
        if len(value) > self.max_length:
            raise ValidationError(
                f"Parameter '{attr}' is longer than {self.max_length} characters."
            )
        return value


class ModelName(_Verbatim):
    def check(self, value, attr):
        if not value.strip():
            raise ValidationError(f"Parameter '{attr}': registered model name cannot be empty.")
        if len(value) > MAX_NAME_LENGTH:
            raise ValidationError(
                f"Parameter '{attr}': registered model name is longer than "
                f"{MAX_NAME_LENGTH} characters."
            )
        if "/" in value or _CONTROL.search(value):
            raise ValidationError(
                f"Parameter '{attr}': registered model name may not contain '/' "
                "or control characters."
            )
        return value


class Version(_Verbatim):
    """A version number: MLflow sends it as a string; ints are tolerated."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or not value.strip().isdecimal():
            raise ValidationError(f"Parameter '{attr}' must be an integer, got '{value}'.")
        number = int(value.strip())
        if number < 1 or number > 2**31 - 1:
            raise ValidationError(f"Parameter '{attr}' must be a positive integer, got '{value}'.")
        return number


class Stage(_Verbatim):
    """A stage in any case; loads as its canonical spelling."""

    def check(self, value, attr):
        for stage in STAGES:
            if value.lower() == stage.lower():
                return stage
        raise ValidationError(
            f"Invalid Model Version stage: {value[:100]}. Value must be one of {', '.join(STAGES)}."
        )


class AliasName(_Verbatim):
    def check(self, value, attr):
        if not value or len(value) > 255 or not _ALIAS.match(value):
            raise ValidationError(
                f"Invalid alias name '{value[:100]}': use 1 to 255 letters, digits, "
                "'_', '-' or '.'."
            )
        if _RESERVED_ALIAS.match(value):
            raise ValidationError(
                f"Invalid alias name '{value}': 'latest' and 'v<number>' are reserved "
                "for version references."
            )
        return value


class TagKey(_Verbatim):
    def check(self, value, attr):
        if not value or len(value) > MAX_TAG_KEY_LENGTH or _CONTROL.search(value):
            raise ValidationError(
                f"Invalid tag key '{value[:100]}': it must be 1 to {MAX_TAG_KEY_LENGTH} "
                "characters with no control characters."
            )
        return value


class TagValue(_Verbatim):
    def check(self, value, attr):
        if len(value) > MAX_TAG_VALUE_LENGTH:
            raise ValidationError(
                f"Tag value for parameter '{attr}' exceeds {MAX_TAG_VALUE_LENGTH} characters."
            )
        return value


def own_hosts() -> tuple[str, ...]:
    """The host (and port) the client reached this server by, as its Host header says."""
    return (request.host,) if has_request_context() else ()


class Source(_Verbatim):
    """A model version source URI, checked by registry.artifacts.sources."""

    def check(self, value, attr):
        try:
            return sources.validate_source(
                value,
                allow_local=current_app.config["PODIUM_ALLOW_LOCAL_SOURCES"],
                own_hosts=own_hosts(),
            )
        except InvalidParameter as error:
            raise ValidationError(error.message) from None


class Items(fields.List):
    """A request list of at most `max_items` entries, counted before any entry is checked.

    Checking stops at the first bad entry, so a long list of bad entries costs one error, not
    one per entry. `too_many` (formatted with limit and count) replaces the default message.
    """

    verbatim_errors = True

    def __init__(
        self, inner, *, max_items: int = MAX_ITEMS, too_many: str = "", validate=None, **kwargs
    ):
        # Length never fails (the count is checked first); it puts maxItems in the API document.
        checks = [Length(max=max_items)] + ([validate] if validate is not None else [])
        super().__init__(inner, validate=checks, **kwargs)
        self.max_items = max_items
        self.too_many = too_many or "Parameter '{attr}' has {count} items, at most {limit}."

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, list | tuple):
            raise self.make_error("invalid")
        if len(value) > self.max_items:
            raise ValidationError(
                self.too_many.format(attr=attr, limit=self.max_items, count=len(value))
            )
        loaded = []
        for index, item in enumerate(value):
            try:
                loaded.append(self.inner.deserialize(item, **kwargs))
            except ValidationError as error:
                raise ValidationError(
                    f"Invalid value {shown(item)} at index {index} of parameter '{attr}': "
                    + first_message(error.messages)
                ) from None
        return loaded


class Int64(fields.Integer):
    """An int64: a JSON number or a decimal string (proto JSON allows both); no fractions."""

    verbatim_errors = True

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str) and re.fullmatch(r"[+-]?\d{1,20}", value.strip()):
            value = int(value.strip())
        elif isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or value not in INT64:
            raise ValidationError(
                f"Invalid value {clipped(value)!r} for parameter '{attr}': "
                "it must be a 64-bit integer."
            )
        return value


class MaxResults(fields.Integer):
    verbatim_errors = True

    def __init__(self, *, maximum: int, **kwargs):
        super().__init__(strict=False, **kwargs)
        self.maximum = maximum

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            number = super()._deserialize(value, attr, data, **kwargs)
        except ValidationError:
            raise ValidationError(
                f"Invalid value {shown(value)} for parameter '{attr}': it must be an integer."
            ) from None
        if not 1 <= number <= self.maximum:
            raise ValidationError(
                f"Invalid value for request parameter {attr}. It must be at most "
                f"{self.maximum} and at least 1, but got value {number}."
            )
        return number


class StrictBoolean(fields.Boolean):
    """Only JSON true/false, as MLflow's protobuf parser accepts (not "yes", not 1)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if value is True or value is False:
            return value
        raise self.make_error("invalid", input=value)
