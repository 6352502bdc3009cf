"""The registry's trust bundle, signed, and the key to pin it with. The YAML after ``---`` in
each docstring is the route's OpenAPI operation."""

from __future__ import annotations

import hashlib
import json

from flask import Blueprint, Response, jsonify, request
from flask.typing import ResponseReturnValue

from registry.config import current_settings
from registry.labels.verification import BUNDLE_PERIOD, signed_registry_trust

__all__ = ["bp"]

bp = Blueprint("trust", __name__)


@bp.get("/trust-bundle")
def get_trust_bundle() -> ResponseReturnValue:
    """Everything needed to verify any label of this register offline, signed.
    ---
    get:
      summary: The registry's signed trust bundle
      description: >
        `{"payload": {bodies, rules, statusLists, logKey, schemes, mappings, checkpoint,
        registry, issued, validUntil}, "signature": {"alg": "Ed25519", "key", "value"}}`. The
        signature is over the payload's RFC 8785 bytes with the key of `/trust-bundle/key`;
        verify offline with `carbonlabel verify cred.json --trust bundle.json
        --registry-key KEY`. Made anew every ten minutes; stale a day after `issued`.
      tags: [trust]
      responses:
        200:
          description: The signed bundle
          content:
            application/json: {schema: {$ref: '#/components/schemas/SignedTrustBundle'}}
        304: {description: Not modified since the ETag given}
    """
    body = json.dumps(signed_registry_trust(), ensure_ascii=False, separators=(",", ":"))
    etag = hashlib.sha256(body.encode("utf-8")).hexdigest()[:32]
    response = Response(body, mimetype="application/json")
    response.set_etag(etag)
    response.headers["Cache-Control"] = f"public, max-age={int(BUNDLE_PERIOD.total_seconds())}"
    response.headers["Content-Disposition"] = 'inline; filename="trust-bundle.json"'
    return response.make_conditional(request)


@bp.get("/trust-bundle/key")
def get_trust_bundle_key() -> ResponseReturnValue:
    """The public key the trust bundle is signed with, to pin.
    ---
    get:
      summary: The registry's trust-bundle key
      description: 'Public. The key trust bundles are signed with; pin it.'
      tags: [trust]
      responses:
        200:
          description: The bundle key
          content: {application/json: {schema: {$ref: '#/components/schemas/TrustBundleKey'}}}
    """
    settings = current_settings()
    key = settings.bundle_signer().public_key
    return jsonify(
        {
            "alg": "Ed25519",
            "publicKeyMultibase": key.multibase,
            "registry": settings.public_base_url,
        }
    )
