import types
import typing
from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator

from simdc.errors import clip

BOOL_MARK = "\x00key:"  # a line of a boolean error that names its key (joined onto the table's path)


class Spec(BaseModel):
    """Base of every spec: immutable, and unknown keys are errors, not silently ignored.

    A boolean is never taken as a number: pydantic would read ``cpu_cores = true`` as
    1 core, so a ``true``/``false`` anywhere in a field that holds no booleans is an error.
    (Not pydantic's strict mode, which would also refuse a TOML list for a tuple and a
    string for a path; nor a field validator, which a union's tag field cannot have.)
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _no_bool_as_number(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        wrong = [(key, cls.model_fields[key].annotation) for key, value in data.items()
                 if key in cls.model_fields and not _mentions(cls.model_fields[key].annotation, bool)
                 and _holds_bool(value, cls.model_fields[key].annotation)]
        # Nor is a string: pydantic would read ``jobs = "50"`` as 50 (a quoted number is a
        # typo or a wrong column, and a planner should hear of it).
        quoted = [(key, cls.model_fields[key].annotation) for key, value in data.items()
                  if key in cls.model_fields and isinstance(value, str)
                  and _only_number(cls.model_fields[key].annotation)]
        # And a boolean is only true or false: pydantic would read "no", "off" or 1 as one.
        loose = [key for key, value in data.items() if key in cls.model_fields and value is not None
                 and not isinstance(value, bool) and _only_bool(cls.model_fields[key].annotation)]
        if wrong or quoted or loose:
            # one message per key; config.describe splits them and puts each under its key
            raise ValueError("\n".join(
                [f"{BOOL_MARK}{key}: expected {_expected(kind)}, "
                 f"{'not true or false' if isinstance(data[key], bool) else 'but it holds true or false'}"
                 for key, kind in wrong]
                + [f"{BOOL_MARK}{key}: expected {_expected(kind)}, not the string {clip(repr(data[key]))}"
                   for key, kind in quoted]
                + [f"{BOOL_MARK}{key}: expected true or false (got {clip(repr(data[key]))})" for key in loose]))
        return data


def _only_number(annotation: Any) -> bool:
    """Whether a field holds only a number (``int``, ``float``, optionally ``None``)."""
    members = [arg for arg in (_args(annotation) or (annotation,)) if arg is not type(None)]
    return bool(members) and all(arg in (int, float) for arg in members)


def _only_bool(annotation: Any) -> bool:
    """Whether a field holds only a boolean (optionally ``None``)."""
    members = [arg for arg in (_args(annotation) or (annotation,)) if arg is not type(None)]
    return members == [bool]


def _args(annotation: Any) -> tuple[Any, ...]:
    return typing.get_args(annotation)


def _mentions(annotation: Any, kind: type) -> bool:
    """Whether ``kind`` appears anywhere in a type annotation."""
    if annotation is kind:
        return True
    return any(_mentions(arg, kind) for arg in _args(annotation))


def _has_model(annotation: Any) -> bool:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return True
    return any(_has_model(arg) for arg in _args(annotation))


def _holds_bool(value: Any, annotation: Any) -> bool:
    """A boolean in the value, unless a nested spec checks the value itself."""
    if _has_model(annotation):
        return False
    if isinstance(value, bool):
        return True
    if isinstance(value, (list, tuple)):
        return any(_holds_bool(item, annotation) for item in value)
    if isinstance(value, dict):
        return any(_holds_bool(item, annotation) for item in value.values())
    return False


def _expected(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        members = [arg for arg in _args(annotation) if arg is not type(None)]
        if len(members) == 1:
            return _expected(members[0])
    if annotation is int:
        return "an integer"
    if annotation is float:
        return "a number"
    if annotation is str:
        return "a string"
    if origin in (list, tuple):
        items = [arg for arg in _args(annotation) if arg is not Ellipsis]
        if len(set(items)) == 1:
            return f"a list of {_plural(items[0])}"
        return "a list"
    if origin is dict:
        return f"a table of {_plural(_args(annotation)[-1])}" if _args(annotation) else "a table"
    return "a value of its own type"


def _plural(annotation: Any) -> str:
    names = {int: "integers", float: "numbers", str: "strings"}
    if annotation in names:
        return names[annotation]
    if typing.get_origin(annotation) in (list, tuple):
        return "lists"
    return "values"
