"""RFC 8785 canonical JSON, fast for the common case.

``json.dumps(sort_keys=True, ensure_ascii=False)`` produces RFC 8785 bytes exactly when the
value has no floats, no integers beyond ±(2**53 - 1), and no object key outside the Basic
Multilingual Plane (RFC 8785 sorts keys by UTF-16 code units, Python by code points; they agree
on BMP text). Anything else goes to the ``rfc8785`` package. ``tests/credentials/test_jcs.py``
checks both paths agree.
"""

from __future__ import annotations

import json
from typing import Any

import rfc8785

from credentials.errors import CanonicalizationError, MalformedInputError

_SAFE_INT = 2**53 - 1
MAX_DEPTH = 32


def _simple(value: Any, depth: int = 0) -> bool:
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return True
    if kind is int:
        return bool(-_SAFE_INT <= value <= _SAFE_INT)
    if depth > MAX_DEPTH:
        raise MalformedInputError(f"JSON nested deeper than {MAX_DEPTH} levels")
    # Walk everything even after a float: the depth limit must not depend on key order.
    if kind is dict:
        simple = True
        for key, item in value.items():
            if type(key) is not str or (not key.isascii() and max(key) > "\uffff"):
                simple = False
            simple = _simple(item, depth + 1) and simple
        return simple
    if kind is list:
        simple = True
        for item in value:
            simple = _simple(item, depth + 1) and simple
        return simple
    return False


def canonical_json(value: Any) -> bytes:
    """RFC 8785 (JCS) bytes of a JSON value."""
    try:
        if _simple(value):
            text = json.dumps(
                value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False
            )
            return text.encode("utf-8")
        return rfc8785.dumps(value)
    except UnicodeEncodeError as exc:
        raise MalformedInputError("string contains an unpaired surrogate") from exc
    except (rfc8785.CanonicalizationError, ValueError, TypeError, RecursionError) as exc:
        raise CanonicalizationError(f"RFC 8785 canonicalization failed: {exc}") from exc
