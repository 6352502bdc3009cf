"""Per-request CPU of the label page against a trivial endpoint, in process (not a test).

    PYTHONPATH=$PWD python tests/registry/pages/measure_label_page_cpu.py [DATABASE_URL]

Loads the demo into a fresh database (SQLite in a temporary folder by default; give an empty
PostgreSQL database's URL to measure that), then times with ``time.process_time`` the Flask
test client on ``GET /ledger/log-key`` and on ``GET /l/{ID}`` for every demo label in the four
languages (pages cached, as a benchmark over many labels reaches them), interleaved, best of
12 batches. The ratio of the two is the page's share of the trivial endpoint's throughput.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import flask_migrate
from sqlalchemy import select

from registry import create_app
from registry.db import db
from registry.demo import load_demo
from registry.labels.models import Label
from tests.registry.factories import make_settings

LANGUAGES = ("en", "zh-CN", "zh-HK", "pt-MO")


def main(url: str | None) -> None:
    folder = Path(tempfile.mkdtemp())
    app = create_app(make_settings(url or f"sqlite:///{folder / 'r.sqlite3'}", folder))
    app.config["TESTING"] = False
    with app.app_context():
        flask_migrate.upgrade()
        load_demo()
        ids = list(db.session.execute(select(Label.id)).scalars())
        db.session.remove()
    client = app.test_client()
    pages = [
        (f"/l/{i}", {"Accept": "text/html", "Accept-Language": lang})
        for lang in LANGUAGES
        for i in ids
    ]
    trivial: list[tuple[str, dict[str, str]]] = [("/ledger/log-key", {})] * len(pages)

    def batch(requests: list[tuple[str, dict[str, str]]]) -> float:
        start = time.process_time()
        for path, headers in requests:
            assert client.get(path, headers=headers).status_code == 200
        return (time.process_time() - start) / len(requests) * 1000

    start = time.process_time()
    batch(pages[: len(ids)])
    first = (time.process_time() - start) / len(ids) * 1000
    batch(pages)
    base, page = [], []
    for _ in range(12):
        base.append(batch(trivial))
        page.append(batch(pages))
    print(
        f"{len(ids)} labels x {len(LANGUAGES)} languages: log-key {min(base):.3f} ms CPU, "
        f"label page {min(page):.3f} ms, first view (verify and render) {first:.1f} ms"
    )
    print(f"label page throughput = {100 * min(base) / min(page):.0f}% of log-key")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
