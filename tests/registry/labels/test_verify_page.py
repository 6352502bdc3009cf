"""The buyer's /verify page on SQLite and PostgreSQL: a code, a file, pasted JSON or a PDF, for
a region; hostile uploads get a readable answer, never a 500."""

from __future__ import annotations

import io
import json
import secrets
from typing import Any

import pytest
from flask.testing import FlaskClient
from pypdf import PdfReader, PdfWriter
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from credentials import EDDSA_RDFC_2022, KeyPair, sign_document
from tests.registry.factories import LabelWorld
from tests.registry.labels.support import auth, issue

LANGUAGES = ["zh-CN", "zh-HK", "en-GB", "pt-MO"]


def _post(client: FlaskClient, data: dict[str, Any], language: str = "en") -> Any:
    return client.post(
        "/verify", data=data, content_type="multipart/form-data",
        headers={"Accept-Language": language},
    )  # fmt: skip


@pytest.fixture
def hk_mapping(client: FlaskClient, world: LabelWorld) -> None:
    body = {
        "mappingId": f"GD-HK-{secrets.token_hex(4)}",
        "source": {"scheme": "CN-GD", "rules": ["PCR-LIB"]},
        "target": {"scheme": "HK", "region": "HK", "ruleId": "HK-LIB", "ruleVersion": "1.0"},
        "mode": "recompute",
        "effectiveFrom": "2025-01-01T00:00:00Z",
        "approvedBy": "HK regulator (fictitious)",
        "agreementSha256": "31" * 32,
    }
    response = client.post("/api/v1/recognition/mappings", json=body, headers=auth(world.operator))
    assert response.status_code == 201


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_form_is_there_in_each_language(client: FlaskClient, language: str) -> None:
    page = client.get("/verify", headers={"Accept-Language": language})
    assert page.status_code == 200
    for field in ('name="file"', 'name="credential"', 'name="code"', 'name="region"'):
        assert field in page.text
    assert '<option value="HK"' in page.text
    assert "<script" not in page.text


@pytest.mark.parametrize(
    "code", ["{id}", "{lower}", "HTTP://REGISTRY.EXAMPLE.TEST/L/{id}", "https://x.test/l/{id}?a=1"]
)
def test_a_code_or_address_opens_the_labels_page_for_the_region(
    client: FlaskClient, world: LabelWorld, code: str
) -> None:
    label = issue(client, world.certifier)
    typed = code.format(id=label["id"], lower=label["id"].lower())
    response = _post(client, {"code": typed, "region": "HK"})
    assert response.status_code == 303
    assert response.headers["Location"] == f"/l/{label['id']}?region=HK"


def test_pasted_json_and_a_label_file_are_verified_for_the_region(
    client: FlaskClient, world: LabelWorld, hk_mapping: None
) -> None:
    label = issue(client, world.certifier)
    pasted = _post(client, {"credential": json.dumps(label["credential"]), "region": "HK"}, "zh-HK")
    assert pasted.status_code == 200
    assert 'data-verdict="genuine"' in pasted.text
    assert 'data-recognition="recognised" data-region="HK"' in pasted.text
    whole = client.get(f"/api/v1/labels/{label['id']}").data
    filed = _post(client, {"file": (io.BytesIO(whole), "label.json"), "region": "MO"})
    assert 'data-verdict="genuine"' in filed.text
    assert 'data-recognition="no_mapping"' in filed.text


def test_a_certificate_pdf_is_checked_print_and_all(client: FlaskClient, world: LabelWorld) -> None:
    label = issue(client, world.certifier)
    pdf = client.get(f"/l/{label['id']}/certificate.pdf").data
    genuine = _post(client, {"file": (io.BytesIO(pdf), "certificate.pdf")})
    assert 'data-verdict="genuine"' in genuine.text
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    contents = writer.pages[0].get_contents()
    assert contents is not None
    grade = label["grade"]
    other = "A" if grade != "A" else "B"
    contents.set_data(
        contents.get_data().replace(f"(Grade: {grade})".encode(), f"(Grade: {other})".encode())
    )
    writer.pages[0].replace_contents(contents)
    out = io.BytesIO()
    writer.write(out)
    forged = _post(client, {"file": (io.BytesIO(out.getvalue()), "certificate.pdf")})
    assert 'data-verdict="not_genuine"' in forged.text
    assert f"Grade: {grade}" in forged.text


def _other_registrys(credential: dict[str, Any]) -> dict[str, Any]:
    unsigned = {k: v for k, v in credential.items() if k != "proof"}
    key = KeyPair.from_seed(b"\x44" * 32)
    unsigned["issuer"] = {**unsigned["issuer"], "id": key.did}
    return sign_document(unsigned, key=key, cryptosuite=EDDSA_RDFC_2022)


@pytest.mark.parametrize(
    ("make", "status", "verdict"),
    [
        (lambda c: {"credential": "not json {"}, 422, None),
        (lambda c: {"credential": "[" * 100_000 + "]" * 100_000}, 422, None),
        (lambda c: {"credential": "[]"}, 422, None),
        (
            lambda c: {
                "credential": json.dumps(
                    {**c, "@context": [*c["@context"], "https://evil.example/ctx"]}
                )
            },
            200,
            "not_genuine",
        ),
        (lambda c: {"credential": json.dumps(_other_registrys(c))}, 200, "not_genuine"),
        (
            lambda c: {
                "credential": json.dumps(
                    {
                        **c,
                        "credentialSubject": {
                            **c["credentialSubject"],
                            "product": {
                                **c["credentialSubject"]["product"],
                                "name": "<script>alert(1)</script>",
                            },
                        },
                    }
                )
            },
            200,
            "not_genuine",
        ),
        (lambda c: {"file": (io.BytesIO(b"%PDF-1.7 broken"), "x.pdf")}, 422, None),
        (lambda c: {"file": (io.BytesIO(b"\x00\x01binary"), "x.bin")}, 422, None),
        (lambda c: {}, 400, None),
        (lambda c: {"code": "not-a-code!"}, 400, None),
        (lambda c: {"credential": "{}", "region": "<b>"}, 400, None),
    ],
)
def test_hostile_input_gets_a_readable_answer(
    client: FlaskClient, world: LabelWorld, make: Any, status: int, verdict: str | None
) -> None:
    credential = issue(client, world.certifier)["credential"]
    response = _post(client, make(credential))
    assert response.status_code == status, response.text[:500]
    assert response.mimetype == "text/html"
    assert "<script>alert(1)</script>" not in response.text
    if verdict is not None:
        assert f'data-verdict="{verdict}"' in response.text


def test_a_label_file_naming_a_member_twice_is_refused_in_the_readers_language(
    client: FlaskClient, world: LabelWorld
) -> None:
    label = issue(client, world.certifier)
    text = json.dumps(label["credential"])
    grade = label["credential"]["credentialSubject"]["grade"]
    forged = text.replace(f'"grade": "{grade}"', f'"grade": "{grade}", "grade": "A"', 1)
    assert forged != text
    for form in (
        {"credential": forged},
        {"file": (io.BytesIO(forged.encode("utf-8")), "label.json")},
        {"file": (io.BytesIO(text.encode("utf-16")), "label.json")},
    ):
        response = _post(client, form, "zh-Hans")
        assert response.status_code == 422, response.text[:300]
        assert "data-verdict" not in response.text
        assert '<html lang="zh-Hans">' in response.text
    assert "&#39;grade&#39; appears twice" in _post(client, {"credential": forged}).text
    # The API answers the same document as the same refusal.
    api = client.post(
        "/credentials/verify",
        data=f'{{"verifiableCredential": {forged}}}',
        content_type="application/json",
    )
    assert api.status_code == 400
    assert "appears twice" in api.get_json()["detail"]


def test_an_oversized_upload_is_refused_before_it_is_read(client: FlaskClient) -> None:
    big = FileStorage(io.BytesIO(b"{" + b" " * (10 * 1024 * 1024) + b"}"), "big.json")
    # Encoded in memory: the test client would spool it to a temporary file it never closes.
    boundary, body = encode_multipart(MultiDict({"file": big}))
    content_type = f"multipart/form-data; boundary={boundary}"
    response = client.post("/verify", data=body, content_type=content_type)
    assert response.status_code == 413


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"not json", 400),
        (b"[" * 100_000 + b"]" * 100_000, 400),
        (b'{"verifiableCredential": ' + b"[" * 5000 + b"]" * 5000 + b"}", 400),
        (b'{"verifiableCredential": {"@context": ["https://evil.example/ctx"]}}', 200),
    ],
)
def test_the_api_answers_hostile_documents_clearly(
    client: FlaskClient, body: bytes, status: int
) -> None:
    response = client.post("/credentials/verify", data=body, content_type="application/json")
    assert response.status_code == status
    if status == 200:
        assert response.get_json()["verified"] is False
    else:
        assert response.mimetype == "application/problem+json"


def test_the_api_answers_another_registrys_credential_and_ten_megabytes(
    client: FlaskClient, world: LabelWorld
) -> None:
    credential = issue(client, world.certifier)["credential"]
    other = client.post(
        "/credentials/verify", json={"verifiableCredential": _other_registrys(credential)}
    )
    assert other.status_code == 200
    assert other.get_json()["verdict"] == "not_genuine"
    huge = b'{"verifiableCredential": {"x": "' + b"a" * (10 * 1024 * 1024) + b'"}}'
    response = client.post("/credentials/verify", data=huge, content_type="application/json")
    assert response.status_code == 413
