// The Polycentric identity in the browser: an Ed25519 key made and used through WebCrypto,
// kept in localStorage only sealed under a passphrase (PBKDF2-SHA256, 600,000 iterations, then
// AES-256-GCM) and never sent anywhere; and this browser's process log (its own Polycentric
// process: clock and per-type back-chain), which is not secret.
//
// The sealed form is the "polygate-identity" file of polygate(7): a JSON envelope whose
// plaintext is Polycentric's ExportBundle (the key pair; events optional).

import {
  ContentType, decodeEvent, decodeExportBundle, encodeEvent, encodeExportBundle, encodePost, encodePointer,
  encodePublicKey, encodeSignedEvent, equalBytes, fromBase64, toBase64, toHex, utf8,
} from './proto.js';

const IDENTITY_KEY = 'polygate.identity';
const LOG_KEY = 'polygate.log';
export const ITERATIONS = 600000;
const AAD = utf8('polygate-identity v1');
// PKCS #8 wrapping of a raw Ed25519 seed (RFC 8410).
const PKCS8_PREFIX = Uint8Array.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]);

export class IdentityError extends Error {}

// ---- sealing ----

async function deriveKey(passphrase, salt, iterations) {
  const material = await crypto.subtle.importKey('raw', utf8(passphrase), 'PBKDF2', false, ['deriveKey']);
  return crypto.subtle.deriveKey(
    { name: 'PBKDF2', hash: 'SHA-256', salt, iterations },
    material,
    { name: 'AES-GCM', length: 256 },
    false,
    ['encrypt', 'decrypt'],
  );
}

export async function seal(plaintext, passphrase, publicKey) {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const nonce = crypto.getRandomValues(new Uint8Array(12));
  const key = await deriveKey(passphrase, salt, ITERATIONS);
  const sealed = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv: nonce, additionalData: AAD }, key, plaintext));
  return {
    format: 'polygate-identity',
    version: 1,
    publicKey: toHex(publicKey),
    kdf: 'PBKDF2-SHA256',
    iterations: ITERATIONS,
    salt: toBase64(salt),
    cipher: 'AES-256-GCM',
    nonce: toBase64(nonce),
    sealed: toBase64(sealed),
  };
}

export async function open(envelope, passphrase) {
  if (envelope?.format !== 'polygate-identity' || envelope.version !== 1) {
    throw new IdentityError('This is not a polygate identity file (format polygate-identity, version 1).');
  }
  // The same bounds as polychat's: fewer is too cheap to attack, more would hold the page for minutes.
  if (envelope.kdf !== 'PBKDF2-SHA256' || envelope.cipher !== 'AES-256-GCM'
    || !(Number.isInteger(envelope.iterations) && envelope.iterations >= 100000 && envelope.iterations <= 10000000)) {
    throw new IdentityError('This identity file uses a key derivation, iteration count or cipher this page does not accept (PBKDF2-SHA256 with 100,000 to 10,000,000 iterations, AES-256-GCM).');
  }
  let plaintext;
  try {
    const key = await deriveKey(passphrase, fromBase64(envelope.salt), envelope.iterations);
    plaintext = new Uint8Array(await crypto.subtle.decrypt(
      { name: 'AES-GCM', iv: fromBase64(envelope.nonce), additionalData: AAD }, key, fromBase64(envelope.sealed)));
  } catch {
    throw new IdentityError('Wrong passphrase, or the identity file is damaged.');
  }
  return plaintext;
}

// ---- the identity ----

export class Identity {
  constructor(signingKey, publicKey, log) {
    this.signingKey = signingKey;
    this.publicKey = publicKey;
    this.log = log;
  }

  get id() { return toHex(this.publicKey); }

  static stored() {
    const text = localStorage.getItem(IDENTITY_KEY);
    if (!text) return null;
    try { return JSON.parse(text); } catch { return null; }
  }

  static forget() {
    localStorage.removeItem(IDENTITY_KEY);
    localStorage.removeItem(LOG_KEY);
    localStorage.removeItem('polygate.outbox');
  }

  // A new key pair, sealed under `passphrase` and stored.
  static async create(passphrase) {
    const pair = await crypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify']);
    const pkcs8 = new Uint8Array(await crypto.subtle.exportKey('pkcs8', pair.privateKey));
    const seed = pkcs8.slice(pkcs8.length - 32);
    const publicKey = new Uint8Array(await crypto.subtle.exportKey('raw', pair.publicKey));
    return Identity.#store(seed, publicKey, passphrase);
  }

  // An identity file (polygate-identity JSON, e.g. from `polychat identity export --web`), opened
  // with its passphrase and stored sealed under `newPassphrase`.
  static async importFile(envelope, passphrase, newPassphrase) {
    const bundle = decodeExportBundle(await open(envelope, passphrase));
    if (bundle.keyType !== 1n || bundle.seed.length !== 32) throw new IdentityError('The file holds no Ed25519 key.');
    return Identity.#store(bundle.seed, bundle.publicKey, newPassphrase);
  }

  static async #store(seed, publicKey, passphrase) {
    const signingKey = await Identity.#signingKey(seed, publicKey);
    const envelope = await seal(encodeExportBundle(seed, publicKey), passphrase, publicKey);
    localStorage.setItem(IDENTITY_KEY, JSON.stringify(envelope));
    localStorage.removeItem(LOG_KEY);
    localStorage.removeItem('polygate.outbox');
    return new Identity(signingKey, publicKey, ProcessLog.load(publicKey));
  }

  // The stored identity, opened with `passphrase`.
  static async unlock(passphrase) {
    const envelope = Identity.stored();
    if (!envelope) throw new IdentityError('There is no identity in this browser.');
    const bundle = decodeExportBundle(await open(envelope, passphrase));
    const signingKey = await Identity.#signingKey(bundle.seed, bundle.publicKey);
    return new Identity(signingKey, bundle.publicKey, ProcessLog.load(bundle.publicKey));
  }

  // A non-extractable signing key, checked against the public key it claims.
  static async #signingKey(seed, publicKey) {
    const key = await crypto.subtle.importKey('pkcs8', new Uint8Array([...PKCS8_PREFIX, ...seed]), { name: 'Ed25519' }, false, ['sign']);
    const probe = utf8('polygate key check');
    const signature = await crypto.subtle.sign('Ed25519', key, probe);
    const verifier = await crypto.subtle.importKey('raw', publicKey, { name: 'Ed25519' }, false, ['verify']);
    if (!(await crypto.subtle.verify('Ed25519', verifier, signature, probe))) {
      throw new IdentityError('The identity file\'s public key does not match its private key.');
    }
    return key;
  }

  // ---- events ----

  // Signs the next event of this browser's process; returns the SignedEvent bytes and the
  // parts needed to point at it.
  async append(contentType, { content, lwwElement, lwwElementSet, references } = {}) {
    // One clock per event even with the client open in several tabs: the log is read from
    // storage and advanced under a lock the tabs share (Web Locks), before anything is signed.
    const { clock, indices } = await navigator.locks.request('polygate.log', () => {
      this.log = ProcessLog.load(this.publicKey);
      const next = this.log.clock + 1n;
      const before = this.log.indices.map(([type, c]) => [type, c]);
      this.log.advance(contentType, next);
      return { clock: next, indices: before };
    });
    const now = Date.now();
    const eventBytes = encodeEvent({
      system: this.publicKey,
      process: this.log.process,
      logicalClock: clock,
      contentType,
      content,
      vectorClock: [],
      indices,
      lwwElement: lwwElement && { ...lwwElement, unixMilliseconds: now },
      lwwElementSet: lwwElementSet && { ...lwwElementSet, unixMilliseconds: now },
      references,
      unixMilliseconds: now,
    });
    const signature = new Uint8Array(await crypto.subtle.sign('Ed25519', this.signingKey, eventBytes));
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', eventBytes));
    const event = { ...decodeEvent(eventBytes), digest };
    return { signed: encodeSignedEvent(signature, eventBytes), event };
  }

  post(text, replyTo) {
    const references = replyTo ? [{ type: 2, reference: encodePointer(replyTo) }] : [];
    return this.append(ContentType.post, { content: encodePost(text), references });
  }

  setName(name) { return this.append(ContentType.username, { lwwElement: { value: utf8(name) } }); }

  setDescription(text) { return this.append(ContentType.description, { lwwElement: { value: utf8(text) } }); }

  follow(system, follow = true) {
    return this.append(ContentType.follow, { lwwElementSet: { remove: !follow, value: encodePublicKey(system) } });
  }
}

// This browser's process of the system: a random 16-byte id, the clock of its last event and
// the latest clock per content type (in the order the types were first used).
export class ProcessLog {
  constructor(system, process, clock, indices) {
    this.system = system;
    this.process = process;
    this.clock = clock;
    this.indices = indices;
  }

  static load(system) {
    try {
      const saved = JSON.parse(localStorage.getItem(LOG_KEY) ?? 'null');
      if (saved && saved.system === toHex(system)) {
        return new ProcessLog(system, fromBase64(saved.process), BigInt(saved.clock),
          saved.indices.map(([type, clock]) => [type, BigInt(clock)]));
      }
    } catch { /* a damaged log: start a new process */ }
    const log = new ProcessLog(system, crypto.getRandomValues(new Uint8Array(16)), 0n, []);
    log.save();
    return log;
  }

  // A server that holds more of this process than this browser remembers (another tab, or
  // storage restored from a backup): continue on a fresh process rather than reuse clocks.
  reconcile(serverRanges) {
    const mine = serverRanges.find((r) => equalBytes(r.process, this.process));
    const high = mine ? mine.ranges.reduce((m, [, h]) => (h > m ? h : m), 0n) : 0n;
    if (high > this.clock) {
      this.process = crypto.getRandomValues(new Uint8Array(16));
      this.clock = 0n;
      this.indices = [];
      this.save();
    }
  }

  advance(contentType, clock) {
    this.clock = clock;
    const entry = this.indices.find(([type]) => type === contentType);
    if (entry) entry[1] = clock; else this.indices.push([contentType, clock]);
    this.save();
  }

  save() {
    localStorage.setItem(LOG_KEY, JSON.stringify({
      system: toHex(this.system),
      process: toBase64(this.process),
      clock: this.clock.toString(),
      indices: this.indices.map(([type, clock]) => [type, clock.toString()]),
    }));
  }
}
