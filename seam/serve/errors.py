"""Errors in OpenAI's format: `{"error": {"message", "type", "param", "code"}}`, for every refused request.

OpenAI clients read `error.message` and raise by status (400 BadRequestError, 401 AuthenticationError,
404 NotFoundError, ...), so a client of this server sees the same exceptions as with OpenAI's API.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

_TYPES = {400: "invalid_request_error", 401: "invalid_request_error", 404: "invalid_request_error", 405: "invalid_request_error",
          409: "invalid_request_error", 413: "invalid_request_error", 415: "invalid_request_error", 422: "invalid_request_error",
          429: "rate_limit_error", 503: "server_error", 500: "server_error"}


class APIError(Exception):
    """A refused request: HTTP status and OpenAI's error fields."""

    def __init__(self, status: int, message: str, param: str | None = None, code: str | None = None, type_: str | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param
        self.code = code
        self.type = type_ or _TYPES.get(status, "invalid_request_error" if status < 500 else "server_error")

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}


def bad_request(message: str, param: str | None = None, code: str | None = "invalid_value") -> APIError:
    return APIError(400, message, param, code)


_UNION_TAGS = ("function-", "tagged-union[", "literal[", "list[", "dict[", "nullable[")


def idempotency_key_reused(header: str) -> APIError:
    """422 for an idempotency key sent again with another request body (in this process or before a restart)."""
    return APIError(422, f"This {header} was already used with a different request body; use a new key for a new request.",
                    header, "idempotency_key_reused")


def _param(loc: tuple) -> str | None:
    """pydantic's error location ('messages', 0, 'role') as OpenAI writes a param ('messages[0].role')."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("body", "str", "int", "float", "bool", "none") or str(part).startswith(_UNION_TAGS):
            continue  # pydantic names the member of a union it tried; OpenAI names only the field
        else:
            out += ("." if out else "") + str(part)
    return out or None


_EXPECTED = {"int_type": "an integer", "int_parsing": "an integer", "float_type": "a number", "float_parsing": "a number",
             "bool_type": "a boolean", "bool_parsing": "a boolean", "string_type": "a string", "list_type": "an array",
             "dict_type": "an object", "model_type": "an object", "model_attributes_type": "an object"}


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def from_validation_error(err: ValidationError) -> APIError:
    """One problem pydantic found, worded as OpenAI words it (400, with the offending param). Of a union's
    errors (content: a string or a list of parts) the deepest is the one that matches what was sent."""
    errors = err.errors()
    first = max(errors, key=lambda e: len(e["loc"]))  # max keeps the first of equals
    param = _param(first["loc"])
    kind = first["type"]
    if kind == "missing":
        return APIError(400, f"Missing required parameter: '{param}'.", param, "missing_required_parameter")
    if kind in _EXPECTED:
        return APIError(400, f"Invalid type for '{param}': expected {_EXPECTED[kind]}, but got {_json_type(first.get('input'))} instead.",
                        param, "invalid_type")
    if kind == "too_short":
        return APIError(400, f"Invalid '{param}': empty array. Expected an array with minimum length 1, but got an empty array instead.",
                        param, "empty_array")
    if kind == "literal_error":
        expected = first.get("ctx", {}).get("expected", "")
        message = f"Invalid value for '{param}': {first.get('input')!r}. Supported values are: {expected}."
        return APIError(400, message, param, "invalid_value")
    message = first.get("msg", "invalid value")
    if message.startswith("Value error, "):
        message = message[len("Value error, "):]
    return APIError(400, f"Invalid '{param}': {message}", param, "invalid_value")
