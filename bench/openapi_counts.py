"""How complete the OpenAPI document is: the counts issue 12 compares before and after.

.venv/bin/python bench/openapi_counts.py [--gaps]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from registry import create_app
from registry.api.openapi import build_openapi
from registry.api.openapi_check import documentation_counts, documentation_gaps
from tests.registry.factories import make_settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gaps", action="store_true", help="also list what is missing")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        app = create_app(make_settings("sqlite://", Path(folder)))
        with app.app_context():
            document = build_openapi(app)
    for name, count in documentation_counts(document).items():
        print(f"{name:32} {count}")
    gaps = documentation_gaps(document)
    print(f"{'gaps':32} {len(gaps)}")
    if arguments.gaps:
        print("\n".join(gaps))


if __name__ == "__main__":
    main()
