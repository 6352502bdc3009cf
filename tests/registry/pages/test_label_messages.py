"""Every verification message the label page can show is translated, with the same parameters,
and a report is presented for exactly what it says (no test database needed)."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask_babel import force_locale

from credentials import Check, CheckName, Outcome, Verdict, VerificationReport
from credentials.messages import ENGLISH, template_parameters
from registry import create_app
from registry.i18n import LANGUAGES
from registry.pages.verdicts import MESSAGES, present_report
from tests.registry.factories import make_settings


@pytest.fixture(scope="module")
def bare_app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    """An app that never opens its database: these tests only word reports."""
    folder: Path = tmp_path_factory.mktemp("messages")
    return create_app(make_settings(f"sqlite:///{folder / 'unused.sqlite3'}", folder))


def test_every_kit_message_and_verdict_has_a_translatable_template() -> None:
    assert set(MESSAGES) == set(ENGLISH)
    assert {f"verdict.{verdict.value}" for verdict in Verdict} <= set(MESSAGES)


@pytest.mark.parametrize("locale", [language.locale for language in LANGUAGES])
def test_each_translation_uses_exactly_the_templates_parameters(
    bare_app: Flask, locale: str
) -> None:
    with bare_app.test_request_context(), force_locale(locale):
        for message_id, english in ENGLISH.items():
            translated = str(MESSAGES[message_id])
            assert template_parameters(translated) == template_parameters(english), message_id
            if locale == "en":
                assert translated == english, message_id  # the msgid is the kit's template
            elif english != "{detail}":  # the only message with nothing to translate
                assert translated != english, f"{locale}: {message_id} untranslated"


def _report(*checks: Check) -> VerificationReport:
    names = {check.name for check in checks}
    passed = tuple(
        Check(name, Outcome.OK, "structure.ok") for name in CheckName if name not in names
    )
    return VerificationReport(
        checks=(*checks, *passed), required=frozenset(CheckName), label=None, trust_checked=True
    )


def test_a_forged_report_reads_not_genuine_and_names_the_failed_check(bare_app: Flask) -> None:
    forged = _report(
        Check(
            CheckName.ISSUER_KEY,
            Outcome.ISSUER_NOT_IN_BUNDLE,
            "issuer_key.not_in_bundle",
        )
    )
    with bare_app.test_request_context(), force_locale("zh_Hant"):
        view = present_report(forged)
    assert view.verdict is Verdict.NOT_GENUINE
    assert view.headline == "非真實標籤"
    (failed,) = view.failed
    assert failed.title == "認證機構"
    assert failed.text == "簽發者不是已登記的認證機構"


def test_a_check_not_made_is_said_so_and_never_reads_as_verified(bare_app: Flask) -> None:
    partial = _report(Check(CheckName.LEDGER, Outcome.LEDGER_MISSING, "ledger.missing"))
    with bare_app.test_request_context(), force_locale("pt_MO"):
        view = present_report(partial)
    assert view.verdict is Verdict.UNVERIFIED
    assert view.headline == "não verificado: algumas verificações não puderam ser feitas"
    (line,) = view.not_checked
    assert line.status_word == "Não verificado"


def test_dates_in_messages_are_shown_in_the_readers_locale(bare_app: Flask) -> None:
    expired = _report(
        Check(
            CheckName.VALIDITY,
            Outcome.EXPIRED,
            "validity.expired",
            {"valid_until": "2029-02-28T23:59:59Z"},
        )
    )
    with bare_app.test_request_context(), force_locale("zh_Hans"):
        view = present_report(expired)
    assert view.verdict is Verdict.EXPIRED
    assert view.line(CheckName.VALIDITY).text == "已于 2029年2月28日 过期"
