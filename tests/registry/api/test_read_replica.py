"""Every public read can be served from a read replica: it runs read-only and writes nothing.

The replica here is the same PostgreSQL database reached as a role that may only SELECT and
whose every transaction is read-only (``default_transaction_read_only = on``), which is what a
hot standby gives. Every public GET of the OpenAPI document, and the ledger paths, must answer
through it exactly as through the primary.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from flask import Flask
from psycopg import sql
from sqlalchemy import func, select

from registry import create_app
from registry.auth.models import Role
from registry.auth.services import create_token
from registry.background import start_background_jobs
from registry.bodies.models import Accreditation, BodyKey, CertificationBody
from registry.db import db, transaction
from registry.demo import load_demo
from registry.labels.models import Label, LabelStatus, StatusListRecord
from registry.ledger.models import LedgerEntry
from registry.ledger.tiles import TILE_WIDTH, TileId, tile_path
from registry.recognition.models import MappingRevision
from registry.schemes.models import Rule, RuleVersion, Scheme
from tests.registry.conftest import build_app
from tests.registry.factories import make_settings

pytestmark = pytest.mark.postgres


@pytest.fixture
def primary(make_pg_database: Callable[[], str], tmp_path: Path) -> Iterator[Flask]:
    app = build_app(make_pg_database(), tmp_path / "primary")
    with app.app_context():
        load_demo()
        db.session.remove()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def replica(primary: Flask, pg_server: str, tmp_path: Path) -> Iterator[Flask]:
    """The primary's database as a read-only, SELECT-only role."""
    url = primary.config["SQLALCHEMY_DATABASE_URI"]
    database = urlsplit(url).path.lstrip("/")
    role = f"replica_{secrets.token_hex(4)}"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
        conn.execute(
            sql.SQL("ALTER ROLE {} SET default_transaction_read_only = on").format(
                sql.Identifier(role)
            )
        )
    admin = urlunsplit(urlsplit(pg_server)._replace(path=f"/{database}"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(sql.Identifier(role)))
        conn.execute(
            sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA public TO {}").format(
                sql.Identifier(role)
            )
        )
    parts = urlsplit(url)
    replica_url = urlunsplit(parts._replace(netloc=f"{role}@{parts.hostname}:{parts.port}"))
    app = create_app(make_settings(replica_url, tmp_path / "replica"))
    try:
        yield app
    finally:
        with app.app_context():
            db.engine.dispose()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
        with psycopg.connect(pg_server, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def _values(app: Flask) -> dict[str, list[str]]:
    """Real values for every path parameter, several where the demo has several."""
    with app.app_context():
        s = db.session
        labels = s.execute(select(Label).order_by(Label.ledger_seq)).scalars().all()
        versions = s.execute(select(RuleVersion)).scalars().all()
        values = {
            "label_id": [label.id for label in labels],
            "list_id": list(s.execute(select(StatusListRecord.id)).scalars()),
            "accreditation_id": [str(i) for i in s.execute(select(Accreditation.id)).scalars()],
            "code/keys": [
                f"{body.code}/keys/{key.public_key_multibase}"
                for key in s.execute(select(BodyKey)).scalars()
                for body in [s.get_one(CertificationBody, key.body_id)]
            ],
            "body": list(s.execute(select(CertificationBody.code)).scalars()),
            "scheme": list(s.execute(select(Scheme.code)).scalars()),
            "rule": [
                f"{scheme}/rules/{rule}"
                for scheme, rule in s.execute(
                    select(Scheme.code, Rule.code).join(Rule, Rule.scheme_id == Scheme.id)
                )
            ],
            "version": [
                f"{v.rule.scheme.code}/rules/{v.rule.code}/versions/{v.version}" for v in versions
            ],
            "mapping_id": sorted(set(s.execute(select(MappingRevision.mapping_id)).scalars())),
        }
        db.session.remove()
    return values


def _urls(app: Flask, size: int) -> list[str]:
    """One or more concrete URLs for every public GET operation of the OpenAPI document."""
    doc = app.test_client().get("/api/v1/openapi.json").get_json()
    values = _values(app)
    fixed: dict[str, list[str]] = {
        "/api/v1/accreditations/{accreditation_id}": [
            f"/api/v1/accreditations/{i}" for i in values["accreditation_id"]
        ],
        "/api/v1/bodies/{code}": [f"/api/v1/bodies/{c}" for c in values["body"]],
        "/api/v1/bodies/{code}/keys/{public_key_multibase}": [
            f"/api/v1/bodies/{k}" for k in values["code/keys"]
        ],
        "/api/v1/schemes/{code}": [f"/api/v1/schemes/{c}" for c in values["scheme"]],
        "/api/v1/schemes/{code}/rules/{rule}": [f"/api/v1/schemes/{r}" for r in values["rule"]],
        "/api/v1/schemes/{code}/rules/{rule}/versions/{version}": [
            f"/api/v1/schemes/{v}" for v in values["version"]
        ],
        "/status-lists/{list_id}": [f"/status-lists/{i}" for i in values["list_id"]],
        "/api/v1/recognition/mappings/{mapping_id}": [
            f"/api/v1/recognition/mappings/{m}" for m in values["mapping_id"]
        ],
        "/ledger/entries": [f"/ledger/entries?start=0&end={size}", "/ledger/entries?start=3&end=9"],
        "/ledger/proof/inclusion": [
            f"/ledger/proof/inclusion?index={i}&size={size}" for i in (0, size // 2, size - 1)
        ],
        "/ledger/proof/consistency": [
            f"/ledger/proof/consistency?first={m}&second={size}" for m in (1, size // 3, size)
        ],
        "/ledger/tile/{level}/{rest}": [
            f"/ledger/{tile_path(TileId(0, 0, min(size, TILE_WIDTH)))}",
            f"/ledger/{tile_path(TileId(0, (size - 1) // TILE_WIDTH, (size - 1) % 256 + 1))}",
        ],
        "/ledger/tile/entries/{rest}": [
            f"/ledger/{tile_path(TileId(None, 0, min(size, TILE_WIDTH)))}"
        ],
    }
    # GS1 Digital Link: GTINs of active labels whose linkset the primary serves (one current
    # label; a GTIN of several answers 300, which is no read to compare byte for byte here).
    client = app.test_client()
    with app.app_context():
        gtins = sorted(
            set(
                db.session.execute(
                    select(Label.gtin).where(
                        Label.gtin.is_not(None), Label.status == LabelStatus.ACTIVE
                    )
                ).scalars()
            )
        )
        db.session.remove()
    served = [g for g in gtins if client.get(f"/01/{g}?linkType=linkset").status_code == 200][:3]
    assert served, "the demo should have GTINs that resolve to one label"
    fixed["/01/{gtin}"] = [f"/01/{g}?linkType=linkset" for g in served]
    fixed["/01/{gtin}/{qualifiers}"] = [
        f"/01/{g}{suffix}?linkType=linkset" for g in served for suffix in ("/10/LOT1", "/21/SN1")
    ]
    urls: list[str] = []
    for path, operations in doc["paths"].items():
        get = operations.get("get")
        if get is None or get.get("security"):
            continue  # not a public read
        if path in fixed:
            urls += fixed[path]
        elif "{label_id}" in path:
            urls += [path.replace("{label_id}", label) for label in values["label_id"]]
        else:
            assert "{" not in path, f"no test values for {path}: add them above"
            urls.append(path)
    return urls


def _answer(app: Flask, url: str) -> tuple[int, str | None, bytes]:
    response = app.test_client().get(url)
    return response.status_code, response.headers.get("ETag"), response.data


def test_every_public_read_answers_the_same_from_a_read_only_replica(
    primary: Flask, replica: Flask
) -> None:
    with primary.app_context():
        size = int(re.split(r"\n", primary.test_client().get("/ledger/checkpoint").text)[1])
        db.session.remove()
    urls = _urls(primary, size)
    assert len(urls) > 100, "the demo should give many labels, lists and rules to read"
    for url in urls:
        expected = _answer(primary, url)
        assert expected[0] == 200, f"{url}: {expected[0]} {expected[2][:300]!r}"
        assert _answer(replica, url) == expected, url
    # And the replica really refuses writes, so the reads above wrote nothing.
    with replica.app_context(), pytest.raises(Exception, match="read-only transaction"):
        db.session.execute(select(Label).limit(1).with_for_update()).all()


def test_a_read_on_the_primary_writes_nothing(primary: Flask, replica: Flask) -> None:
    """The replica sees the primary's data only as committed: a read that signed a checkpoint
    or re-signed a list on the primary would make the two disagree from then on."""
    with primary.app_context():
        label = db.session.execute(select(Label.id).limit(1)).scalar_one()
        db.session.remove()
    for url in ("/ledger/checkpoint", f"/api/v1/labels/{label}/trust-bundle"):
        before = _answer(replica, url)
        assert _answer(primary, url) == before
        assert _answer(replica, url) == before


@pytest.fixture
def replica_host(replica: Flask, tmp_path: Path) -> Iterator[Flask]:
    """A registry host set up for the replica (``REGISTRY_REPLICA=true``)."""
    url = replica.config["SQLALCHEMY_DATABASE_URI"]
    app = create_app(make_settings(url, tmp_path / "replica-host", replica=True))
    app.testing = False  # answered as in production, not re-raised
    try:
        yield app
    finally:
        with app.app_context():
            db.engine.dispose()


def test_a_write_that_reaches_a_replica_host_is_refused_and_writes_nothing(
    primary: Flask, replica_host: Flask
) -> None:
    with primary.app_context(), transaction():
        _, secret = create_token(role=Role.CERTIFIER, name="replica test", body_code="lingnan-pcc")
    with primary.app_context():
        before = db.session.execute(select(func.count()).select_from(LedgerEntry)).scalar_one()
        db.session.remove()
    client = replica_host.test_client()
    request = {"Authorization": f"Bearer {secret}", "Idempotency-Key": "replica-1"}
    response = client.post("/api/v1/labels", json=_demo_label(), headers=request)
    assert response.status_code == 503, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["type"].endswith("/problems/read-only-host")
    with primary.app_context():
        after = db.session.execute(select(func.count()).select_from(LedgerEntry)).scalar_one()
        db.session.remove()
    assert after == before
    # The same request on the primary issues: the refusal was the host's, not the request's.
    primary_client = primary.test_client()
    assert (
        primary_client.post("/api/v1/labels", json=_demo_label(), headers=request).status_code
        == 201
    )
    # And a replica host's workers run nothing that writes.
    assert start_background_jobs(replica_host) == []


def _demo_label() -> dict[str, Any]:
    return {
        "product": {"name": "Replica test module (fictitious)", "manufacturer": "Pearl River Ltd."},
        "footprint": {
            "value": "41.8",
            "system_boundary": "cradle-to-gate",
            "reference_period": {"start": "2025-01-01", "end": "2025-12-31"},
        },
        "rule": {"scheme": "CN-GD", "rule": "CN-GD-PCR-LIB", "version": "2.0"},
    }
