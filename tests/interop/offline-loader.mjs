// A JSON-LD document loader that never touches the network.
//
// It serves exactly two kinds of documents:
//   * the JSON-LD contexts exported by the Python kit into `contextsDir`
//     (index.json: [{url, file, sha256?}], the same shape as
//     credentials/contexts/index.json); a listed sha256 is checked;
//   * did:key documents for Ed25519 keys (`did:key:z6Mk…` and
//     `did:key:z6Mk…#z6Mk…`), built from the DID itself with
//     @digitalbazaar/ed25519-multikey; nothing is resolved remotely.
// Anything else throws, so a context the exported bundle lacks is an error.
import {createHash} from 'node:crypto';
import {readFileSync} from 'node:fs';
import {join} from 'node:path';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';

const DID_KEY = 'did:key:';
const DID_V1 = 'https://www.w3.org/ns/did/v1';
const MULTIKEY_V1 = 'https://w3id.org/security/multikey/v1';

export function loadContexts(contextsDir) {
  const index = JSON.parse(readFileSync(join(contextsDir, 'index.json'), 'utf8'));
  if(!Array.isArray(index)) {
    throw new TypeError(`${contextsDir}/index.json must be an array`);
  }
  const contexts = new Map();
  for(const {url, file, sha256} of index) {
    const bytes = readFileSync(join(contextsDir, file));
    if(sha256 !== undefined) {
      const actual = createHash('sha256').update(bytes).digest('hex');
      if(actual !== sha256) {
        throw new Error(`context ${url}: sha256 ${actual} does not match index.json`);
      }
    }
    contexts.set(url, bytes.toString('utf8'));
  }
  return contexts;
}

async function didKeyDocuments(url) {
  const [did, fragment] = url.split('#', 2);
  const fingerprint = did.slice(DID_KEY.length);
  if(!fingerprint.startsWith('z6Mk')) {
    throw new Error(`only Ed25519 did:key identifiers are supported, not "${url}"`);
  }
  if(fragment !== undefined && fragment !== fingerprint) {
    throw new Error(`did:key fragment does not name the DID's own key: "${url}"`);
  }
  const vmId = `${did}#${fingerprint}`;
  // Ed25519Multikey.from() decodes and validates the multibase public key.
  const key = await Ed25519Multikey.from({
    type: 'Multikey', id: vmId, controller: did, publicKeyMultibase: fingerprint
  });
  const verificationMethod = await key.export({publicKey: true, includeContext: false});
  const didDocument = {
    // did/v1 first: jsonld-signatures' controller check then reads the
    // verification relationships directly instead of framing the document, so
    // the DID context is never dereferenced (and is not in the bundle).
    '@context': [DID_V1, MULTIKEY_V1],
    id: did,
    verificationMethod: [verificationMethod],
    authentication: [vmId],
    assertionMethod: [vmId],
    capabilityDelegation: [vmId],
    capabilityInvocation: [vmId]
  };
  return {didDocument, verificationMethod: {'@context': MULTIKEY_V1, ...verificationMethod}};
}

export function createDocumentLoader({contextsDir}) {
  const contexts = loadContexts(contextsDir);
  const requested = [];
  async function documentLoader(url) {
    requested.push(url);
    if(contexts.has(url)) {
      // a fresh parse every time: callers may not mutate the shared copy
      return {contextUrl: null, documentUrl: url, document: JSON.parse(contexts.get(url))};
    }
    if(typeof url === 'string' && url.startsWith(DID_KEY)) {
      const {didDocument, verificationMethod} = await didKeyDocuments(url);
      const document = url.includes('#') ? verificationMethod : didDocument;
      return {contextUrl: null, documentUrl: url, document};
    }
    throw new Error(
      `offline document loader: "${url}" is not in the exported contexts ` +
      `(${contextsDir}) and is not an Ed25519 did:key`);
  }
  documentLoader.requested = requested;
  return documentLoader;
}
