"""Public, unauthenticated read paths of the ledger, in the shapes independent log tools expect.

Entries and proofs never change once the tree has grown past them, so they are cached as
immutable; the checkpoint moves forward and is revalidated on every use.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from registry.ledger.schemas import (
    consistency_proof_schema,
    entry_range_schema,
    inclusion_proof_schema,
)
from registry.ledger.services import (
    consistency_proof,
    current_checkpoint,
    get_log_verifier_key,
    inclusion_proof,
    list_entries,
)
from registry.ledger.witnessing import cosignature_lines

__all__ = ["bp"]

bp = Blueprint("ledger", __name__, url_prefix="/ledger")

IMMUTABLE = "public, max-age=31536000, immutable"
JSON_LINES = "application/jsonl"


@bp.get("/checkpoint")
def get_checkpoint() -> Response:
    """The latest signed checkpoint, with the witnesses' cosignatures received so far.
    ---
    get:
      summary: Latest signed checkpoint (C2SP signed note, text/plain)
      description: >
        Covers every committed entry (appends sign one in their own transaction; with a
        longer REGISTRY_CHECKPOINT_INTERVAL the ticker covers the rest within two intervals).
        The log's signature line is followed by every C2SP cosignature (tlog-cosignature)
        the configured witnesses returned for this checkpoint, each checked on receipt.
      tags: [ledger]
      responses:
        200:
          description: 'origin, tree size, base64 root hash, then signature lines'
          content:
            text/plain:
              schema: {type: string, description: A C2SP signed note (tlog-checkpoint)}
              example: |
                registry.example/ledger
                42
                qE2aKw8mJ2o4pXvQ1n7Zr9v3c0dJxY5u7T1sW0bA4yM=

                — registry.example/ledger Az3k1Qe4...
        304: {description: Not modified (If-None-Match)}
        404: {$ref: '#/components/responses/NotFound'}
    """
    checkpoint = current_checkpoint()
    # The note ends with its signature block, so more signature lines simply follow it.
    note = checkpoint.note + "".join(cosignature_lines(checkpoint.size))
    response = Response(note, mimetype="text/plain")
    response.headers["Cache-Control"] = "no-cache"
    response.add_etag()
    response.make_conditional(request)  # turns a matching If-None-Match into a 304
    return response


@bp.get("/log-key")
def get_log_key() -> Response:
    """The log's verifier key.
    ---
    get:
      summary: The log's C2SP verifier key (name+keyid+base64)
      description: 'Public. The key that checks the ledger''s checkpoints; pin it.'
      tags: [ledger]
      responses:
        200:
          description: The verifier key string
          content:
            text/plain:
              schema: {type: string, description: 'C2SP verifier key: name+keyid+base64'}
              example: registry.example/ledger+8a1c2f3e+AeK1vQ2dY8...
    """
    # No trailing newline: the body is exactly the verifier key string tools parse.
    response = Response(get_log_verifier_key(), mimetype="text/plain")
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


@bp.get("/entries")
def get_entries() -> Response:
    """Entries start..end-1 as JSON Lines.
    ---
    get:
      summary: Ledger entries as JSON Lines (each line the exact bytes hashed into its leaf)
      description: start < end, at most 1000 entries a request (else 422).
      tags: [ledger]
      parameters:
        - {in: query, name: start, required: true, schema: {type: integer, minimum: 0}}
        - {in: query, name: end, required: true, schema: {type: integer, minimum: 1}}
      responses:
        200:
          description: The entries, one per line
          content:
            application/jsonl:
              schema: {type: string, description: One canonical JSON ledger entry per line}
              example: |
                {"event":"label.issued","seq":41,"v":1}
        422: {$ref: '#/components/responses/Unprocessable'}
    """
    params = entry_range_schema.load(request.args)
    bodies = list_entries(params["start"], params["end"])
    # RFC 8785 output escapes every control character, so an entry can never contain a raw
    # newline and each line is exactly the bytes of one leaf.
    response = Response(b"".join(body + b"\n" for body in bodies), mimetype=JSON_LINES)
    response.headers["Cache-Control"] = IMMUTABLE
    return response


@bp.get("/proof/inclusion")
def get_inclusion_proof() -> Response:
    """An inclusion proof.
    ---
    get:
      summary: RFC 9162 inclusion proof of entry index in the tree of size entries
      description: index < size (else 422).
      tags: [ledger]
      parameters:
        - {in: query, name: index, required: true, schema: {type: integer, minimum: 0}}
        - {in: query, name: size, required: true, schema: {type: integer, minimum: 1}}
      responses:
        200:
          description: Proof hashes (base64) under hashes
          content: {application/json: {schema: InclusionProofSchema}}
        422: {$ref: '#/components/responses/Unprocessable'}
    """
    params = inclusion_proof_schema.load(request.args)
    proof = inclusion_proof(params["index"], params["size"])
    response = jsonify(inclusion_proof_schema.dump(proof))
    response.headers["Cache-Control"] = IMMUTABLE
    return response


@bp.get("/proof/consistency")
def get_consistency_proof() -> Response:
    """A consistency proof.
    ---
    get:
      summary: RFC 9162 consistency proof between tree sizes first and second
      description: first ≤ second (else 422).
      tags: [ledger]
      parameters:
        - {in: query, name: first, required: true, schema: {type: integer, minimum: 1}}
        - {in: query, name: second, required: true, schema: {type: integer, minimum: 1}}
      responses:
        200:
          description: Proof hashes (base64) under hashes
          content: {application/json: {schema: ConsistencyProofSchema}}
        422: {$ref: '#/components/responses/Unprocessable'}
    """
    params = consistency_proof_schema.load(request.args)
    proof = consistency_proof(params["first"], params["second"])
    response = jsonify(consistency_proof_schema.dump(proof))
    response.headers["Cache-Control"] = IMMUTABLE
    return response
