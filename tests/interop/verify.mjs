#!/usr/bin/env node
// Digital Bazaar's VC / Data Integrity stack as an independent second
// implementation for the carbon-label interoperability tests.
//
// Input: one JSON job, from argv[2] (inline JSON, or a path to a JSON file) or
// from stdin:
//   {"contextsDir": "...",                       exported contexts + index.json
//    "action": "verify" | "sign" | "canonize",
//    "credential": {...},
//    "cryptosuite": "eddsa-rdfc-2022" | "eddsa-jcs-2022",   (sign)
//    "seedHex": "…64 hex…"                                  (sign) or
//    "secretKeyMultibase": "z3u2…", "publicKeyMultibase": "z6Mk…",
//    "created": "2026-03-01T08:30:00Z",                     (sign, optional)
//    "now": "2026-06-01T00:00:00Z"}           (verify: validity window clock)
//
// Output (stdout, one JSON value):
//   verify   → {"verified": bool, "errors": [...], "proofs": [...],
//               "statusChecked": false, "loaded": [...]}
//   sign     → the signed credential
//   canonize → {"nquads": "..."}  (the exact N-Quads eddsa-rdfc-2022 hashes)
// Exit status 0 when the action ran (a failed verification is still 0),
// 2 for a bad job or a failed signing, with {"errors": [...]} on stdout.
import {readFileSync} from 'node:fs';
import * as vc from '@digitalbazaar/vc';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {cryptosuite as eddsaRdfc2022} from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import {
  createSignCryptosuite as createJcsSignSuite,
  createVerifyCryptosuite as createJcsVerifySuite
} from '@digitalbazaar/eddsa-jcs-2022-cryptosuite';
import {createDocumentLoader} from './offline-loader.mjs';

const RDFC = 'eddsa-rdfc-2022';
const JCS = 'eddsa-jcs-2022';

function readJob() {
  const arg = process.argv[2];
  if(arg !== undefined) {
    return JSON.parse(arg.trimStart().startsWith('{') ? arg : readFileSync(arg, 'utf8'));
  }
  return JSON.parse(readFileSync(0, 'utf8'));
}

// Flatten an error tree (VerificationError carries `.errors`, proof results
// carry `.error`) into "Name: message" strings, without duplicates.
function errorMessages(...roots) {
  const out = [];
  const seen = new Set();
  const visit = e => {
    if(!e || seen.has(e)) {
      return;
    }
    seen.add(e);
    if(Array.isArray(e)) {
      e.forEach(visit);
      return;
    }
    if(Array.isArray(e.errors)) {
      e.errors.forEach(visit);
      if(e.name === 'VerificationError') {
        return;
      }
    }
    const text = `${e.name || 'Error'}: ${e.message || String(e)}`;
    if(!out.includes(text)) {
      out.push(text);
    }
    if(e.details && typeof e.details === 'object') {
      // jsonld.js puts the offending term/IRI into `details` (and the
      // document loader's own error into `details.cause`)
      const detail = JSON.stringify(e.details, (k, v) => v instanceof Error ?
        `${v.name}: ${v.message}` : v);
      if(detail !== '{}' && !out.includes(`  details: ${detail}`)) {
        out.push(`  details: ${detail}`);
      }
      visit(e.details.cause);
    }
    visit(e.cause);
  };
  roots.forEach(visit);
  return out;
}

function hexToBytes(hex) {
  if(!/^[0-9a-fA-F]{64}$/.test(hex)) {
    throw new TypeError('"seedHex" must be 64 hex digits (a 32-byte Ed25519 seed)');
  }
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

async function signingKey(job) {
  let publicKeyMultibase = job.publicKeyMultibase;
  let secretKeyMultibase = job.secretKeyMultibase;
  if(job.seedHex !== undefined) {
    const generated = await Ed25519Multikey.generate({seed: hexToBytes(job.seedHex)});
    ({publicKeyMultibase, secretKeyMultibase} = await generated.export(
      {publicKey: true, secretKey: true}));
  } else if(!(secretKeyMultibase && publicKeyMultibase)) {
    throw new TypeError(
      'sign needs "seedHex", or both "secretKeyMultibase" and "publicKeyMultibase"');
  }
  const controller = `did:key:${publicKeyMultibase}`;
  return Ed25519Multikey.from({
    type: 'Multikey',
    id: `${controller}#${publicKeyMultibase}`,
    controller,
    publicKeyMultibase,
    secretKeyMultibase
  });
}

// The status lists are not fetched (no network); only the entries' shape is
// checked, and the result says so.
async function checkStatusShapeOnly({credential}) {
  const entries = [].concat(credential.credentialStatus ?? []);
  for(const entry of entries) {
    if(entry.type !== 'BitstringStatusListEntry' ||
      typeof entry.statusListCredential !== 'string') {
      return {verified: false, error: new Error(
        `unexpected credentialStatus entry ${JSON.stringify(entry)}`)};
    }
  }
  return {verified: true, checked: false};
}

async function verify(job, documentLoader) {
  const suite = [
    new DataIntegrityProof({cryptosuite: eddsaRdfc2022}),
    new DataIntegrityProof({cryptosuite: createJcsVerifySuite()})
  ];
  const result = await vc.verifyCredential({
    credential: job.credential,
    suite,
    documentLoader,
    checkStatus: checkStatusShapeOnly,
    ...(job.now ? {now: job.now} : {})
  });
  const proofs = (result.results ?? []).map(r => ({
    cryptosuite: r.proof?.cryptosuite,
    verified: r.verified,
    verificationMethod: r.verificationMethod?.id ?? null,
    purposeValid: r.purposeResult?.valid ?? null
  }));
  return {
    verified: result.verified === true,
    errors: result.verified ? [] : errorMessages(
      result.error, ...(result.results ?? []).map(r => r.error),
      ...(result.results ?? []).map(r => r.purposeResult?.error)),
    proofs,
    statusChecked: false,
    loaded: [...new Set(documentLoader.requested)]
  };
}

async function sign(job, documentLoader) {
  const key = await signingKey(job);
  let cryptosuite;
  if(job.cryptosuite === RDFC) {
    cryptosuite = eddsaRdfc2022;
  } else if(job.cryptosuite === JCS) {
    cryptosuite = createJcsSignSuite();
  } else {
    throw new TypeError(`unknown cryptosuite ${JSON.stringify(job.cryptosuite)}`);
  }
  const suite = new DataIntegrityProof({
    signer: key.signer(), cryptosuite, ...(job.created ? {date: job.created} : {})
  });
  return vc.issue({credential: structuredClone(job.credential), suite, documentLoader});
}

async function canonize(job, documentLoader) {
  // exactly the call DataIntegrityProof.createVerifyData makes: jsonld.toRDF
  // in safe mode, then rdf-canonize RDFC-1.0 (the W3C name of URDNA2015)
  const nquads = await eddsaRdfc2022.canonize(
    structuredClone(job.credential), {documentLoader, base: null, safe: true});
  return {nquads};
}

const ACTIONS = {verify, sign, canonize};

async function main() {
  let job;
  try {
    job = readJob();
  } catch(e) {
    return fail([`bad job: ${e.message}`]);
  }
  const action = ACTIONS[job?.action];
  if(!action || typeof job.contextsDir !== 'string' || typeof job.credential !== 'object') {
    return fail(['job needs "action" (verify|sign|canonize), "contextsDir" and "credential"']);
  }
  try {
    const documentLoader = createDocumentLoader({contextsDir: job.contextsDir});
    process.stdout.write(JSON.stringify(await action(job, documentLoader)) + '\n');
  } catch(e) {
    return fail(errorMessages(e));
  }
}

function fail(errors) {
  process.stderr.write(errors.join('\n') + '\n');
  process.stdout.write(JSON.stringify({verified: false, errors}) + '\n');
  process.exitCode = 2;
}

await main();
