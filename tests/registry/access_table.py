"""Who may call each route, in one table: a rule per (endpoint, method), and what each rule
answers each caller.

:data:`ROUTES` has one line per (endpoint, method) of the app's URL map: the rule's name and
the paths tried (``str.format`` templates over :attr:`AccessWorld.values`, real objects of
body A and scheme X). :data:`RULES` says, once per rule, what each caller must get. A route
added to the app without a line here fails ``test_access_matrix``, which names it.

Callers: ``none`` (anonymous); the API tokens ``operator``, ``certifier_a`` and
``certifier_b`` (bodies A and B), ``regulator_x`` and ``regulator_y`` (schemes X = CN-GD and
Y = HK), ``revoked`` (a revoked token of body A), ``pact`` (a PACT data recipient's access
token); the portal people ``auditor_a``, ``signatory_a``, ``signatory_b``, ``regulator_person``
(of X), ``regulator_person_y`` and ``operator_person``; ``expired`` (signatory A's session, its
lifetime passed on the injected clock); ``password_only`` (signatory A's session before the
second factor). B and Y act on A's and X's objects.
"""

from __future__ import annotations

import enum

from tests.registry.access_world import x_mapping


class Expect(enum.StrEnum):
    """What a caller must get. Every refusal is told apart from a validation answer."""

    ALLOWED = "allowed"  # GET: 2xx/3xx (not to sign-in); a write: past access (see OPEN)
    OPEN = "open"  # not refused: no 401/403/404, no sign-in redirect, no access problem
    DOOR = "door"  # a portal door: never 403/404 (a wrong password's 401 is the door's own)
    SIGNED_OUT = "signed-out"  # 303 to sign-in, and the session cookie cleared
    MISSING = "missing"  # 404 for everyone: a path no file is served at
    SHOWN = "shown"  # 200, and the list names one of A's objects (its label, batch, token, …)
    FILTERED = "filtered"  # 200, and the list names none of A's objects
    UNAUTHENTICATED = "unauthenticated"  # 401 problem+json ``unauthenticated``
    FORBIDDEN = "forbidden"  # 403 (problem+json ``forbidden`` on the API, a page elsewhere)
    HIDDEN = "hidden"  # 404 (``not-found``): another body's or scheme's object is not there
    SIGN_IN = "sign-in"  # 303 to /portal/sign-in: no session, or an expired one
    SECOND_FACTOR = "second-factor"  # 303 to /portal/second-factor: the password alone
    PACT_REFUSED = "pact-refused"  # 400, PACT error ``BadRequest``: no PACT access token
    INVALID_CLIENT = "invalid-client"  # 401, OAuth ``invalid_client``: no client credentials


API_CALLERS = (
    "operator", "certifier_a", "certifier_b", "regulator_x", "regulator_y"
)  # fmt: skip
PEOPLE = (
    "auditor_a",
    "signatory_a",
    "signatory_b",
    "regulator_person",
    "regulator_person_y",
    "operator_person",
)
CALLERS = ("none", *API_CALLERS, "revoked", "pact", *PEOPLE, "expired", "password_only")

A = Expect.ALLOWED
F = Expect.FORBIDDEN
H = Expect.HIDDEN
S = Expect.SHOWN
P = Expect.OPEN  # past access (to validation)
X = Expect.FILTERED


def _everyone(expect: Expect) -> dict[str, Expect]:
    return dict.fromkeys(CALLERS, expect)


def _api(**allowed: Expect) -> dict[str, Expect]:
    """An API rule: the tokens named get their answer, other tokens 403, the rest 401."""
    rule = _everyone(Expect.UNAUTHENTICATED)
    rule.update(dict.fromkeys(API_CALLERS, F))
    rule.update(allowed)
    return rule


def _portal(**allowed: Expect) -> dict[str, Expect]:
    """A portal rule: the people named get their answer, other people 403, the rest sign in
    (or, with the password alone, give the second factor)."""
    rule = _everyone(Expect.SIGN_IN)
    rule.update(dict.fromkeys(PEOPLE, F))
    rule["password_only"] = Expect.SECOND_FACTOR
    rule.update(allowed)
    return rule


_ANY_TOKEN = _api(**dict.fromkeys(API_CALLERS, A))
_PACT = _everyone(Expect.PACT_REFUSED) | {"pact": A}
_PEOPLE = dict.fromkeys(PEOPLE, A)
_BODY = {"auditor_a": A, "signatory_a": A, "signatory_b": A}

RULES: dict[str, dict[str, Expect]] = {
    "public": _everyone(A),
    "public-form": _everyone(Expect.OPEN),
    "no-file": _everyone(Expect.MISSING),
    "portal-door": _everyone(Expect.DOOR),
    "pact-token": _everyone(Expect.INVALID_CLIENT),
    "pact": _PACT,
    "any-token": _ANY_TOKEN,
    "any-token-filtered": _api(
        operator=S,
        certifier_a=S,
        regulator_x=S,
        certifier_b=Expect.FILTERED,
        regulator_y=Expect.FILTERED,
    ),
    "operator": _api(operator=A),
    "certifier": _api(certifier_a=A, certifier_b=A),
    "certifier-own-body": _api(certifier_a=A, certifier_b=H),
    "status-of-a": _api(operator=A, certifier_a=A, regulator_x=A),
    "issuer-status-of-a": _api(operator=A, certifier_a=A),
    "oversight-filtered": _api(operator=S, regulator_x=S, regulator_y=Expect.FILTERED),
    "scheme-x": _api(operator=A, regulator_x=A),
    "report-of-x": _api(operator=A, regulator_x=A, regulator_y=H),
    # Empty bodies to routes of BODIES (past access is a 422, or a PACT 400 to its client).
    "status-changers": _api(**dict.fromkeys(API_CALLERS, P)),
    "issuers": _api(operator=P, certifier_a=P, certifier_b=P),
    "overseers": _api(operator=P, regulator_x=P, regulator_y=P),
    "pact-client": _PACT | {"pact": P},
    "portal:any": _portal(**_PEOPLE),
    "portal:operator": _portal(operator_person=A),
    "portal:deciders": _portal(**_PEOPLE | {"auditor_a": F}),
    "portal:label-of-a": _portal(**_PEOPLE | {"signatory_b": H, "regulator_person_y": H}),
    "portal:decide-on-a": _portal(
        **_PEOPLE | {"auditor_a": F, "signatory_b": H, "regulator_person_y": H}
    ),
    "portal:token-of-a": _portal(
        signatory_a=A, operator_person=A, signatory_b=H, regulator_person=H, regulator_person_y=H
    ),
    "portal:oversight": _portal(regulator_person=A, regulator_person_y=A, operator_person=A),
    "portal:body": _portal(**_BODY),
    "portal:body-of-a": _portal(**_BODY | {"signatory_b": H}),
    "portal:signatory": _portal(signatory_a=A, signatory_b=A),
    "portal:signatory-of-a": _portal(signatory_a=A, signatory_b=H),
    # Lists: who sees A's objects in them, and who sees them without (``FILTERED``).
    "portal:labels-listed": _portal(
        auditor_a=S,
        signatory_a=S,
        regulator_person=S,
        operator_person=S,
        signatory_b=X,
        regulator_person_y=X,
    ),
    "portal:tokens-listed": _portal(
        signatory_a=S, operator_person=S, signatory_b=X, regulator_person=X, regulator_person_y=X
    ),
    "portal:bodies-listed": _portal(regulator_person=S, operator_person=S, regulator_person_y=X),
    "portal:body-listed": _portal(auditor_a=S, signatory_a=S, signatory_b=X),
    "portal:sign-out": _portal(**dict.fromkeys(PEOPLE, Expect.SIGNED_OUT)),
}

ROUTES: dict[tuple[str, str], tuple[str, tuple[str, ...]]] = {
    # --- public pages ---------------------------------------------------------------------
    ("pages.home", "GET"): ("public", ("/",)),
    ("pages.find_label", "GET"): ("public", ("/l?code={label}",)),
    ("pages.label_page", "GET"): ("public", ("/l/{label}", "/L/{label}")),
    ("pages.label_credential", "GET"): ("public", ("/l/{label}/credential.json",)),
    ("pages.get_certificate", "GET"): ("public", ("/l/{label}/certificate.pdf",)),
    ("pages.report_form", "GET"): ("public", ("/l/{label}/report",)),
    ("pages.report_submit", "POST"): ("public-form", ("/l/{label}/report",)),
    ("pages.report_thanks", "GET"): ("public", ("/l/{label}/report/thanks",)),
    ("pages.switch_language", "GET"): ("public", ("/lang/en",)),
    ("pages.body_page", "GET"): ("public", ("/bodies/{body_id}",)),
    ("pages.scheme_page", "GET"): ("public", ("/schemes/CN-GD",)),
    ("pages.rule_page", "GET"): ("public", ("/schemes/CN-GD/rules/PCR-LIB",)),
    ("pages.problems_index", "GET"): ("public", ("/problems/",)),
    ("pages.problem_page", "GET"): ("public", ("/problems/forbidden",)),
    ("pages.verify_form", "GET"): ("public", ("/verify",)),
    ("pages.verify_submit", "POST"): ("public-form", ("/verify",)),
    ("pages.static", "GET"): ("public", ("/static/pages/site.css",)),
    ("static", "GET"): ("no-file", ("/static/none.css",)),
    ("health.health_view", "GET"): ("public", ("/health",)),
    # --- GS1 resolver, ledger, trust, status lists, PACT extension schemas -------------------
    ("resolver.resolver_description_view", "GET"): ("public", ("/.well-known/gs1resolver",)),
    ("resolver.resolve", "GET"): ("public", ("/01/{gtin}",)),
    ("resolver.resolve_qualified", "GET"): ("public", ("/01/{gtin}/21/1234",)),
    ("ledger.get_checkpoint", "GET"): ("public", ("/ledger/checkpoint",)),
    ("ledger.get_entries", "GET"): ("public", ("/ledger/entries?start=0&end=1",)),
    ("ledger.get_log_key", "GET"): ("public", ("/ledger/log-key",)),
    ("ledger.get_consistency_proof", "GET"): (
        "public",
        ("/ledger/proof/consistency?first=1&second=2",),
    ),
    ("ledger.get_inclusion_proof", "GET"): ("public", ("/ledger/proof/inclusion?index=0&size=2",)),
    ("tiles.get_tile", "GET"): ("public", ("/ledger/tile/0/000.p/1",)),
    ("tiles.get_entry_bundle", "GET"): ("public", ("/ledger/tile/entries/000.p/1",)),
    ("trust.get_trust_bundle", "GET"): ("public", ("/trust-bundle",)),
    ("trust.get_trust_bundle_key", "GET"): ("public", ("/trust-bundle/key",)),
    ("labels.get_status_list_view", "GET"): ("public", ("/status-lists/{status_list}",)),
    ("pact.extension_schema", "GET"): (
        "public",
        ("/pact/extensions/carbon-label/1.0.0/schema.json",),
    ),
    ("pact.source_extension_schema", "GET"): (
        "public",
        ("/pact/extensions/carbon-label-source/1.0.0/schema.json",),
    ),
    # --- VC-API -----------------------------------------------------------------------------
    ("vcapi.issue", "POST"): ("certifier", ("/credentials/issue",)),
    ("vcapi.update_status", "POST"): ("issuer-status-of-a", ("/credentials/status",)),
    ("vcapi.verify", "POST"): ("public-form", ("/credentials/verify",)),
    # --- PACT --------------------------------------------------------------------------------
    ("pact.token", "POST"): ("pact-token", ("/auth/token",)),
    ("pact.list_footprints", "GET"): ("pact", ("/3/footprints",)),
    ("pact.get_footprint", "GET"): ("pact", ("/3/footprints/{pf_id}",)),
    ("pact.events", "POST"): ("pact", ("/3/events",)),
    # --- JSON API: public reads -------------------------------------------------------------
    ("api_docs.api_docs", "GET"): ("public", ("/api/docs",)),
    ("api_docs.static", "GET"): ("public", ("/api/docs/static/api-docs.js",)),
    ("openapi.get_openapi", "GET"): ("public", ("/api/v1/openapi.json",)),
    ("labels.get_label_view", "GET"): ("public", ("/api/v1/labels/{label}",)),
    ("labels.get_label_artwork", "GET"): ("public", ("/api/v1/labels/{label}/label.svg",)),
    ("labels.get_label_qr_png", "GET"): ("public", ("/api/v1/labels/{label}/qr.png",)),
    ("labels.get_label_qr_svg", "GET"): ("public", ("/api/v1/labels/{label}/qr.svg",)),
    ("labels.get_trust_bundle", "GET"): ("public", ("/api/v1/labels/{label}/trust-bundle",)),
    ("bodies.list_bodies_view", "GET"): ("public", ("/api/v1/bodies",)),
    ("bodies.get_body_view", "GET"): ("public", ("/api/v1/bodies/{body}",)),
    ("bodies.get_body_key_view", "GET"): ("public", ("/api/v1/bodies/{body}/keys/{key}",)),
    ("bodies.get_accreditation_view", "GET"): (
        "public",
        ("/api/v1/accreditations/{accreditation}",),
    ),
    ("schemes.list_schemes_view", "GET"): ("public", ("/api/v1/schemes",)),
    ("schemes.get_scheme_view", "GET"): ("public", ("/api/v1/schemes/CN-GD",)),
    ("schemes.get_rule_view", "GET"): ("public", ("/api/v1/schemes/CN-GD/rules/PCR-LIB",)),
    ("schemes.get_rule_version_view", "GET"): (
        "public",
        ("/api/v1/schemes/CN-GD/rules/PCR-LIB/versions/1.0",),
    ),
    ("recognition.list_mappings_view", "GET"): ("public", ("/api/v1/recognition/mappings",)),
    ("recognition.get_mapping_view", "GET"): (
        "public",
        ("/api/v1/recognition/mappings/{mapping}",),
    ),
    ("batches.get_template", "GET"): ("public", ("/api/v1/label-batches/template.csv",)),
    # --- JSON API: any token ----------------------------------------------------------------
    ("me.me_view", "GET"): ("any-token", ("/api/v1/me",)),
    ("labels.list_labels_view", "GET"): ("any-token-filtered", ("/api/v1/labels",)),
    ("exports.export_labels", "GET"): ("any-token-filtered", ("/api/v1/exports/labels.csv",)),
    ("exports.export_ledger", "GET"): ("public", ("/api/v1/exports/ledger.jsonl",)),
    # --- JSON API: certifiers, on their own body's things -----------------------------------
    ("labels.post_label", "POST"): ("certifier", ("/api/v1/labels",)),
    ("labels.post_label_batch", "POST"): ("certifier", ("/api/v1/labels/batch",)),
    ("preparations.prepare_label_view", "POST"): ("certifier", ("/api/v1/labels/prepare",)),
    ("preparations.get_preparation_view", "GET"): (
        "certifier-own-body",
        ("/api/v1/labels/preparations/{preparation}",),
    ),
    ("preparations.submit_signed_label_view", "POST"): (
        "certifier-own-body",
        ("/api/v1/labels/preparations/{preparation}/signed",),
    ),
    ("pact_labels.post_label_from_pact", "POST"): ("certifier", ("/api/v1/labels/from-pact",)),
    ("pact_labels.post_label_from_pact_batch", "POST"): (
        "certifier",
        ("/api/v1/labels/from-pact/batch",),
    ),
    ("batches.post_batch", "POST"): ("certifier", ("/api/v1/label-batches",)),
    ("batches.get_batch_view", "GET"): ("certifier-own-body", ("/api/v1/label-batches/{batch}",)),
    ("batches.get_batch_artwork", "GET"): (
        "certifier-own-body",
        ("/api/v1/label-batches/{batch}/artwork.zip",),
    ),
    ("batches.get_batch_result", "GET"): (
        "certifier-own-body",
        ("/api/v1/label-batches/{batch}/result.csv",),
    ),
    ("labels.post_label_status", "POST"): ("status-of-a", ("/api/v1/labels/{label}/status",)),
    # --- JSON API: regulators of the scheme, and the operator -------------------------------
    ("audit.get_body_history_view", "GET"): ("scheme-x", ("/api/v1/audit/bodies/{body}",)),
    ("audit.get_audit_entries_view", "GET"): ("oversight-filtered", ("/api/v1/audit/entries",)),
    ("findings.list_findings_view", "GET"): ("scheme-x", ("/api/v1/audit/findings?scheme=CN-GD",)),
    ("audit.get_issuance_view", "GET"): ("oversight-filtered", ("/api/v1/audit/issuance",)),
    ("audit.get_label_history_view", "GET"): (
        "scheme-x",
        ("/api/v1/audit/labels/{label}/history",),
    ),
    ("audit.get_status_changes_view", "GET"): (
        "oversight-filtered",
        ("/api/v1/audit/status-changes",),
    ),
    ("reports.list_reports_view", "GET"): ("oversight-filtered", ("/api/v1/reports",)),
    ("reports.get_report_photo_view", "GET"): ("report-of-x", ("/api/v1/reports/{report}/photo",)),
    ("reports.post_report_status", "POST"): ("report-of-x", ("/api/v1/reports/{report}/status",)),
    ("schemes.publish_rule_version_view", "POST"): (
        "scheme-x",
        ("/api/v1/schemes/CN-GD/rules/PCR-LIB/versions",),
    ),
    ("recognition.publish_mapping_view", "POST"): (
        "scheme-x",
        ("/api/v1/recognition/mappings",),
    ),
    ("recognition.withdraw_mapping_view", "POST"): (
        "scheme-x",
        ("/api/v1/recognition/mappings/{mapping}/withdraw",),
    ),
    # --- JSON API: the operator -------------------------------------------------------------
    ("bodies.register_body_view", "POST"): ("operator", ("/api/v1/bodies",)),
    ("bodies.set_accreditation_status_view", "POST"): (
        "operator",
        ("/api/v1/accreditations/{accreditation}/status",),
    ),
    ("bodies.grant_accreditation_view", "POST"): (
        "operator",
        ("/api/v1/bodies/{body}/accreditations",),
    ),
    ("bodies.add_body_key_view", "POST"): ("operator", ("/api/v1/bodies/{body}/keys",)),
    ("bodies.retire_body_key_view", "POST"): (
        "operator",
        ("/api/v1/bodies/{body}/keys/{key}/retire",),
    ),
    ("bodies.rotate_body_key_view", "POST"): ("operator", ("/api/v1/bodies/{body}/keys/rotate",)),
    ("bodies.set_body_status_view", "POST"): ("operator", ("/api/v1/bodies/{body}/status",)),
    ("schemes.create_scheme_view", "POST"): ("operator", ("/api/v1/schemes",)),
    ("schemes.create_rule_view", "POST"): ("operator", ("/api/v1/schemes/CN-GD/rules",)),
    ("tokens.create_token_view", "POST"): ("operator", ("/api/v1/tokens",)),
    ("tokens.get_token_view", "GET"): ("operator", ("/api/v1/tokens/{token}",)),
    ("tokens.revoke_token_view", "POST"): ("operator", ("/api/v1/tokens/{token}/revoke",)),
    # --- portal: open doors -----------------------------------------------------------------
    ("portal.static", "GET"): ("public", ("/portal/static/portal.css",)),
    ("portal_issue.static", "GET"): ("public", ("/portal/issue/static/issue.css",)),
    ("portal.sign_in", "GET"): ("portal-door", ("/portal/sign-in",)),
    ("portal.sign_in_submit", "POST"): ("portal-door", ("/portal/sign-in",)),
    ("portal.second_factor", "GET"): ("portal-door", ("/portal/second-factor",)),
    ("portal.second_factor_submit", "POST"): ("portal-door", ("/portal/second-factor",)),
    ("portal.invitation", "GET"): ("portal-door", ("/portal/invitation/{invitation}",)),
    ("portal.invitation_submit", "POST"): ("portal-door", ("/portal/invitation/{invitation}",)),
    ("portal.sign_out", "POST"): ("portal-door", ("/portal/sign-out",)),
    # --- portal: signed-in people -----------------------------------------------------------
    ("portal.home", "GET"): ("portal:any", ("/portal/",)),
    ("portal.access", "GET"): ("portal:operator", ("/portal/access",)),
    ("portal.password", "GET"): ("portal:any", ("/portal/password",)),
    ("portal.password_submit", "POST"): ("portal:any", ("/portal/password",)),
    ("portal.sign_out_everywhere", "POST"): ("portal:sign-out", ("/portal/sign-out-everywhere",)),
    ("portal.totp", "GET"): ("portal:any", ("/portal/totp",)),
    ("portal.totp_start", "POST"): ("portal:any", ("/portal/totp/start",)),
    ("portal.totp_confirm", "POST"): ("portal:any", ("/portal/totp/confirm",)),
    ("portal.tokens", "GET"): ("portal:tokens-listed", ("/portal/tokens",)),
    ("portal.tokens_create", "POST"): ("portal:deciders", ("/portal/tokens",)),
    ("portal.tokens_revoke", "POST"): ("portal:token-of-a", ("/portal/tokens/{token}/revoke",)),
    ("portal_labels.index", "GET"): ("portal:labels-listed", ("/portal/labels/",)),
    ("portal_labels.label", "GET"): ("portal:label-of-a", ("/portal/labels/{label}",)),
    ("portal_labels.change_form", "GET"): (
        "portal:decide-on-a",
        ("/portal/labels/{label}/suspend",),
    ),
    ("portal_labels.change_submit", "POST"): (
        "portal:decide-on-a",
        ("/portal/labels/{label}/suspend",),
    ),
    ("portal_oversight.oversight", "GET"): ("portal:bodies-listed", ("/portal/oversight/",)),
    ("portal_batches.batches", "GET"): ("portal:body-listed", ("/portal/batches/",)),
    ("portal_batches.upload", "POST"): ("portal:signatory", ("/portal/batches/",)),
    ("portal_batches.upload_pact", "POST"): ("portal:signatory", ("/portal/batches/pact",)),
    ("portal_batches.batch", "GET"): ("portal:body-of-a", ("/portal/batches/{batch}",)),
    ("portal_batches.artwork", "GET"): (
        "portal:body-of-a",
        ("/portal/batches/{batch}/artwork.zip",),
    ),
    ("portal_batches.result", "GET"): ("portal:body-of-a", ("/portal/batches/{batch}/result.csv",)),
    ("portal_batches.template", "GET"): ("portal:body", ("/portal/batches/template.csv",)),
    ("portal_issue.form", "GET"): ("portal:body", ("/portal/issue/",)),
    ("portal_issue.form_submit", "POST"): ("portal:body", ("/portal/issue/",)),
    ("portal_issue.drafts", "GET"): ("portal:body-listed", ("/portal/issue/drafts",)),
    ("portal_issue.review", "POST"): ("portal:body-of-a", ("/portal/issue/drafts/{draft}/review",)),
    ("portal_issue.issue", "POST"): (
        "portal:signatory-of-a",
        ("/portal/issue/drafts/{draft}/issue",),
    ),
    ("portal_issue.issued", "GET"): ("portal:body-of-a", ("/portal/issue/labels/{label}",)),
}

# Write routes whose answer depends on the object they act on are sent a valid request, so that
# the object's owner is told apart from everyone else (``{name}`` is a path value), and then an
# empty body, answered as the second rule says: whoever may never call the route is refused
# before validation; who may call it for some object gets past access to validation (a 422),
# since the object is looked up after the request is read. Every other write is sent an empty
# body only.
REASON = "Market surveillance sample failed"
BODIES: dict[tuple[str, str], tuple[dict[str, object], str]] = {
    ("labels.post_label_status", "POST"): (
        {"action": "suspend", "reason": REASON},
        "status-changers",
    ),
    ("vcapi.update_status", "POST"): (
        {
            "credentialId": "{credential}",
            "credentialStatus": {
                "type": "BitstringStatusListEntry",
                "statusPurpose": "suspension",
            },
            "status": True,
            "reason": REASON,
        },
        "issuers",
    ),
    ("reports.post_report_status", "POST"): ({"status": "seen"}, "overseers"),
    ("recognition.publish_mapping_view", "POST"): (x_mapping(), "overseers"),
    ("recognition.withdraw_mapping_view", "POST"): ({"reason": REASON}, "overseers"),
    ("pact.events", "POST"): (
        {
            "type": "org.wbcsd.pact.ProductFootprint.PublishedEvent.3",
            "specversion": "1.0",
            "id": "access-matrix-1",
            "source": "https://webhook.example.com",
            "time": "2026-05-19T10:30:00Z",
            "data": {"pfIds": ["{pf_id}"]},
        },
        "pact-client",
    ),
}
