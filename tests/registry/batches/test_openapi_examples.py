"""The batch CSV examples in the OpenAPI document are the template the API serves, so the
document cannot show a column list that uploads refuse."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from registry import create_app
from registry.api.openapi import build_openapi
from registry.batches.csvformat import template_csv
from tests.registry.factories import make_settings


def _document() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        app = create_app(make_settings("sqlite://", Path(folder)))
        with app.app_context():
            return build_openapi(app)


def test_the_template_and_upload_examples_are_the_served_template() -> None:
    paths = _document()["paths"]
    template = paths["/api/v1/label-batches/template.csv"]["get"]["responses"]["200"]
    upload = paths["/api/v1/label-batches"]["post"]["requestBody"]
    served = template_csv().removeprefix("\ufeff").replace("\r\n", "\n")
    # A YAML block that ends the docstring loses its final newline: compare the rows.
    for example in (template["content"]["text/csv"], upload["content"]["text/csv"]):
        assert example["example"].splitlines() == served.splitlines()
