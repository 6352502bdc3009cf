"""Helpers of the resolver tests: GTINs with right check digits, labels issued for them, and
GS1's linkset schemas."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient
from jsonschema import Draft7Validator

from credentials import gtin_check_digit
from tests.conftest import load_vector
from tests.registry.factories import label_request
from tests.registry.labels.support import issue

__all__ = ["gs1_validator", "gtin", "issue_for", "linkset_validator"]


def gtin(payload: str) -> str:
    """``payload`` with its GS1 check digit appended."""
    return payload + gtin_check_digit(payload)


def _validator(name: str) -> Draft7Validator:
    schema = load_vector(f"gs1/{name}")
    Draft7Validator.check_schema(schema)
    return Draft7Validator(schema, format_checker=Draft7Validator.FORMAT_CHECKER)


def gs1_validator() -> Draft7Validator:
    """GS1's linkset schema (GS1-Conformant Resolver 1.2), the one every answer must meet."""
    return _validator("gs1-linkset-schema.json")


def linkset_validator() -> Draft7Validator:
    """The plain RFC 9264 linkset schema published beside it."""
    return _validator("linkset-schema.json")


def issue_for(
    client: FlaskClient, secret: str, code: str, value: str = "61.2", **top: Any
) -> dict[str, Any]:
    """Issue a label for GTIN ``code`` (as given: 8, 12, 13 or 14 digits)."""
    body = label_request(value, **top)
    body["product"]["gtin"] = code
    return issue(client, secret, body)
