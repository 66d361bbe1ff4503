"""Fields for tracking values: experiment and run ids, metric keys and values, enums."""

import math
import posixpath
import re

from marshmallow import ValidationError, fields

from registry.schemas.base import clipped
from registry.schemas.fields import Text

MAX_KEY_LENGTH = 250
MAX_PARAM_VALUE_LENGTH = 6000
MAX_RUN_TAG_VALUE_LENGTH = 8000
MAX_EXPERIMENT_TAG_VALUE_LENGTH = 20_000
MAX_EXPERIMENT_NAME_LENGTH = 500
# Experiment ids are an integer column: the range both databases store.
MAX_EXPERIMENT_ID = 2**31 - 1
_RUN_ID = re.compile(r"[a-zA-Z0-9][\w\-]{0,255}")
# MLflow's rule for metric, param and tag keys: they may become file names in some stores.
_KEY = re.compile(r"[/\w.\- :]+")
# Proto JSON spells the non-finite doubles as these strings; Python's float() takes them too.
_NON_FINITE_OUT = {math.inf: "Infinity", -math.inf: "-Infinity"}


class ExperimentId(Text):
    """An experiment id: a decimal string on the wire (an int tolerated); loads as an int."""

    def __init__(self, **kwargs):
        super().__init__(max_length=32, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        text = super()._deserialize(value, attr, data, **kwargs)
        if not text.isdecimal() or not text.isascii() or int(text) > MAX_EXPERIMENT_ID:
            raise ValidationError(
                f"Invalid experiment ID '{text[:32]}'. Experiment ID must be a valid integer."
            )
        return int(text)


class RunId(Text):
    def __init__(self, **kwargs):
        super().__init__(max_length=256, **kwargs)

    def check(self, value, attr):
        if not _RUN_ID.fullmatch(value):
            raise ValidationError(f"Invalid value '{value[:100]}' for parameter '{attr}'.")
        return value


class EntityKey(Text):
    """A metric, param or tag key, by MLflow's rules."""

    def __init__(self, **kwargs):
        super().__init__(max_length=MAX_KEY_LENGTH, **kwargs)

    def check(self, value, attr):
        super().check(value, attr)
        if not _KEY.fullmatch(value):
            raise ValidationError(
                f"Invalid value '{value[:100]}' for parameter '{attr}': names may only contain "
                "alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), colons (:) "
                "and slashes (/)."
            )
        normal = posixpath.normpath(value)
        if normal != value or normal == "." or normal.startswith(("..", "/")):
            raise ValidationError(
                f"Invalid value '{value[:100]}' for parameter '{attr}': names may be treated "
                f"as files, and this one would resolve to '{normal[:100]}'."
            )
        return value


class Choice(Text):
    """One of a fixed set of enum names (proto enums also arrive as their numbers)."""

    def __init__(self, choices: tuple[str, ...], numbers: dict[int, str] | None = None, **kw):
        super().__init__(max_length=64, **kw)
        self.choices, self.numbers = choices, numbers or {}

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, int) and not isinstance(value, bool) and value in self.numbers:
            return self.numbers[value]
        return super()._deserialize(value, attr, data, **kwargs)

    def check(self, value, attr):
        if value not in self.choices:
            raise ValidationError(
                f"Invalid value '{value[:64]}' for parameter '{attr}': "
                f"use one of {', '.join(self.choices)}."
            )
        return value


class MetricValue(fields.Float):
    """A double: a JSON number, or "NaN", "Infinity", "-Infinity" as proto JSON spells them."""

    verbatim_errors = True

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str) and len(value) <= 64:
            try:
                value = float(value.strip())
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValidationError(
                f"Invalid value {clipped(value)!r} for parameter '{attr}': "
                "it must be a number, 'NaN', 'Infinity' or '-Infinity'."
            )
        try:
            return float(value)
        except OverflowError:  # an int beyond a double's range
            raise ValidationError(f"Parameter '{attr}' is out of range for a double.") from None

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        if math.isnan(value):
            return "NaN"
        return _NON_FINITE_OUT.get(value, value)


class IdString(fields.Field):
    """An integer id shown as a string, as the MLflow client requires of id-like fields."""

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else str(value)
