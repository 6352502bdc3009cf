"""The printable certificate, on SQLite and PostgreSQL: a PDF in the reader's language that
carries its credential, a signed bundle and its ledger evidence, and verifies offline; a
certificate whose print was edited, or whose credential was swapped, is refused."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from pypdf import PdfReader, PdfWriter

from credentials import CREDENTIAL_FILE, EVIDENCE_FILE, TRUST_FILE, read_certificate
from credentials.cli import main as carbonlabel
from tests.pdf_edits import edited_pdf
from tests.registry.factories import BUNDLE_SIGNER, LabelWorld, label_request
from tests.registry.labels.support import issue

PINNED = BUNDLE_SIGNER.public_key.multibase


def _certificate(client: FlaskClient, label_id: str, language: str = "en") -> bytes:
    response = client.get(f"/l/{label_id}/certificate.pdf", headers={"Accept-Language": language})
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert f"carbon-label-{label_id}.pdf" in response.headers["Content-Disposition"]
    return response.data


@pytest.mark.parametrize("language", ["zh-CN", "zh-HK", "en-GB", "pt-MO"])
def test_a_certificate_in_each_language_carries_what_verifies_it(
    client: FlaskClient, world: LabelWorld, language: str, tmp_path: Path
) -> None:
    label = issue(client, world.certifier, label_request(name="磷酸铁锂电池模组 (demo)"))
    pdf = _certificate(client, label["id"], language)
    certificate = read_certificate(pdf)
    assert certificate.credential == label["credential"]
    assert certificate.trust is not None
    assert certificate.trust["signature"]["key"] == PINNED
    assert certificate.evidence is not None
    assert set(PdfReader(io.BytesIO(pdf)).attachments) == {
        CREDENTIAL_FILE,
        TRUST_FILE,
        EVIDENCE_FILE,
    }
    assert f"Grade: {label['grade']}" in certificate.text
    path = tmp_path / "certificate.pdf"
    path.write_bytes(pdf)
    assert carbonlabel(["verify", str(path), "--registry-key", PINNED]) == 0
    assert carbonlabel(["verify", str(path)]) == 1  # the embedded bundle is not pinned


def test_a_certificate_whose_printed_grade_was_edited_is_refused(
    client: FlaskClient, world: LabelWorld, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    label = issue(client, world.certifier)
    grade = label["grade"].encode()
    other = b"A" if grade != b"A" else b"B"
    forged = edited_pdf(_certificate(client, label["id"]), b"(Grade: " + grade + b")",
                     b"(Grade: " + other + b")")  # fmt: skip
    path = tmp_path / "forged.pdf"
    path.write_bytes(forged)
    capsys.readouterr()
    assert carbonlabel(["verify", str(path), "--registry-key", PINNED]) == 1
    out = capsys.readouterr().out
    assert "CERTIFICATE REFUSED" in out
    assert f"Grade: {label['grade']}" in out
    assert "NOT VERIFIED: not_genuine" in out


def test_a_certificate_carrying_another_labels_credential_is_refused(
    client: FlaskClient, world: LabelWorld, tmp_path: Path
) -> None:
    first = issue(client, world.certifier)
    second = issue(client, world.certifier, label_request("50.1"))
    # The paper of the first, with the second's genuine files inside.
    paper = PdfReader(io.BytesIO(_certificate(client, first["id"])))
    files = PdfReader(io.BytesIO(_certificate(client, second["id"]))).attachments
    writer = PdfWriter()
    writer.add_page(paper.pages[0])
    for name, contents in files.items():
        writer.add_attachment(name, contents[0])
    out = io.BytesIO()
    writer.write(out)
    path = tmp_path / "swapped.pdf"
    path.write_bytes(out.getvalue())
    assert carbonlabel(["verify", str(path), "--registry-key", PINNED]) == 1


def test_an_unknown_label_has_no_certificate(client: FlaskClient) -> None:
    assert client.get("/l/0000000000/certificate.pdf").status_code == 404


@pytest.mark.parametrize(
    "content",
    [b"%PDF-1.7\nnot really", b"%PDF-" + b"x" * 100, b"not a pdf at all"],
)
def test_garbage_given_as_a_certificate_is_a_clear_usage_error(
    tmp_path: Path, content: bytes, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "x.pdf"
    path.write_bytes(content)
    assert carbonlabel(["verify", str(path)]) == 2
    assert "error" in capsys.readouterr().err
