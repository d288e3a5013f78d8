// Protocol buffers on the wire (varints, length-delimited fields) and the Polycentric v1
// messages the web client reads and writes (proto/polycentric/protocol.proto, package
// userpackage). Only the fields the client uses are named; unknown fields are skipped.

export const ContentType = Object.freeze({
  delete: 1, systemProcesses: 2, post: 3, follow: 4, username: 5, description: 6,
  opinion: 14,
});

export const ReferenceType = Object.freeze({ system: 1, pointer: 2, bytes: 3 });

// ---- bytes and base64 ----

export function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

export function equalBytes(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function toBase64(bytes, urlSafe = false) {
  let text = '';
  for (const b of bytes) text += String.fromCharCode(b);
  const b64 = btoa(text);
  return urlSafe ? b64.replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '') : b64;
}

export function fromBase64(text) {
  const normal = text.trim().replaceAll('-', '+').replaceAll('_', '/');
  const padded = normal + '='.repeat((4 - (normal.length % 4)) % 4);
  const raw = atob(padded);  // throws on anything that is not base64
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

export function toHex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export function fromHex(text) {
  if (!/^([0-9a-fA-F]{2})*$/.test(text)) throw new Error('not hex');
  return Uint8Array.from(text.match(/../g) ?? [], (h) => parseInt(h, 16));
}

export const utf8 = (text) => new TextEncoder().encode(text);
export const fromUtf8 = (bytes) => new TextDecoder().decode(bytes);

// ---- the wire format ----

export class Writer {
  constructor() { this.bytes = []; }

  varint(value) {
    let n = BigInt(value);
    if (n < 0n) throw new RangeError('negative varint');
    while (n >= 0x80n) { this.bytes.push(Number(n & 0x7fn) | 0x80); n >>= 7n; }
    this.bytes.push(Number(n));
    return this;
  }

  tag(field, wireType) { return this.varint((field << 3) | wireType); }

  // A uint64 field; `always` writes a zero too (fields declared `optional`).
  uint(field, value, always = false) {
    if (value === undefined || value === null) return this;
    if (BigInt(value) === 0n && !always) return this;
    return this.tag(field, 0).varint(value);
  }

  bytesField(field, value, always = false) {
    if (value === undefined || value === null) return this;
    if (value.length === 0 && !always) return this;
    this.tag(field, 2).varint(value.length);
    for (const b of value) this.bytes.push(b);
    return this;
  }

  string(field, value, always = false) {
    return value === undefined ? this : this.bytesField(field, utf8(value), always);
  }

  // An embedded message, present even when empty.
  message(field, encoded) { return this.bytesField(field, encoded, true); }

  packed(field, values) {
    if (values.length === 0) return this;
    const inner = new Writer();
    for (const v of values) inner.varint(v);
    return this.bytesField(field, inner.finish(), true);
  }

  finish() { return Uint8Array.from(this.bytes); }
}

function readVarint(bytes, at) {
  let result = 0n, shift = 0n;
  for (;;) {
    if (at >= bytes.length || shift > 63n) throw new Error('truncated or over-long varint');
    const b = bytes[at++];
    result |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) return [result, at];
    shift += 7n;
  }
}

// The fields of one message: field number → array of values (BigInt for varints,
// Uint8Array for length-delimited and fixed fields).
export function fields(bytes) {
  const out = new Map();
  let at = 0;
  while (at < bytes.length) {
    let key, value;
    [key, at] = readVarint(bytes, at);
    const field = Number(key >> 3n), wire = Number(key & 7n);
    if (wire === 0) {
      [value, at] = readVarint(bytes, at);
    } else if (wire === 2) {
      let length;
      [length, at] = readVarint(bytes, at);
      const end = at + Number(length);
      if (end > bytes.length) throw new Error('truncated field');
      value = bytes.subarray(at, end);
      at = end;
    } else if (wire === 1 || wire === 5) {
      const end = at + (wire === 1 ? 8 : 4);
      if (end > bytes.length) throw new Error('truncated field');
      value = bytes.subarray(at, end);
      at = end;
    } else {
      throw new Error(`wire type ${wire} is not supported`);
    }
    if (!out.has(field)) out.set(field, []);
    out.get(field).push(value);
  }
  return out;
}

const one = (map, field) => map.get(field)?.at(-1);
const many = (map, field) => map.get(field) ?? [];
const uint = (map, field) => one(map, field) ?? 0n;
const bytesOf = (map, field) => one(map, field) ?? new Uint8Array();

function packedUints(map, field) {
  const out = [];
  for (const value of many(map, field)) {
    if (typeof value === 'bigint') { out.push(value); continue; }
    let at = 0;
    while (at < value.length) { let v; [v, at] = readVarint(value, at); out.push(v); }
  }
  return out;
}

// ---- Polycentric messages ----

export function encodePublicKey(key) {
  return new Writer().uint(1, 1).bytesField(2, key).finish();
}

export function decodePublicKey(bytes) {
  const m = fields(bytes);
  return { keyType: uint(m, 1), key: bytesOf(m, 2) };
}

function encodeProcess(process) { return new Writer().bytesField(1, process).finish(); }

// Event { system, process, logical_clock, content_type, content, vector_clock, indices,
// lww_element_set?, lww_element?, references, unix_milliseconds? }
export function encodeEvent(e) {
  const w = new Writer()
    .message(1, encodePublicKey(e.system))
    .message(2, encodeProcess(e.process))
    .uint(3, e.logicalClock)
    .uint(4, e.contentType)
    .bytesField(5, e.content ?? new Uint8Array())
    .message(6, new Writer().packed(1, e.vectorClock ?? []).finish());
  const indices = new Writer();
  for (const [type, clock] of e.indices ?? []) {
    indices.message(1, new Writer().uint(1, type).uint(2, clock).finish());
  }
  w.message(7, indices.finish());
  if (e.lwwElementSet) {
    const s = e.lwwElementSet;
    w.message(8, new Writer().uint(1, s.remove ? 1 : 0).bytesField(2, s.value).uint(3, s.unixMilliseconds).finish());
  }
  if (e.lwwElement) {
    w.message(9, new Writer().bytesField(1, e.lwwElement.value).uint(2, e.lwwElement.unixMilliseconds).finish());
  }
  for (const r of e.references ?? []) {
    w.message(10, new Writer().uint(1, r.type).bytesField(2, r.reference).finish());
  }
  w.uint(11, e.unixMilliseconds, true);
  return w.finish();
}

export function decodeEvent(bytes) {
  const m = fields(bytes);
  const system = decodePublicKey(bytesOf(m, 1));
  const event = {
    system: system.key,
    keyType: system.keyType,
    process: bytesOf(fields(bytesOf(m, 2)), 1),
    logicalClock: uint(m, 3),
    contentType: Number(uint(m, 4)),
    content: bytesOf(m, 5),
    references: many(m, 10).map((r) => {
      const f = fields(r);
      return { type: Number(uint(f, 1)), reference: bytesOf(f, 2) };
    }),
    unixMilliseconds: one(m, 11) === undefined ? undefined : Number(one(m, 11)),
    indices: many(fields(bytesOf(m, 7)), 1).map((i) => {
      const f = fields(i);
      return [Number(uint(f, 1)), uint(f, 2)];
    }),
  };
  if (one(m, 8)) {
    const f = fields(one(m, 8));
    event.lwwElementSet = { remove: uint(f, 1) === 1n, value: bytesOf(f, 2), unixMilliseconds: Number(uint(f, 3)) };
  }
  if (one(m, 9)) {
    const f = fields(one(m, 9));
    event.lwwElement = { value: bytesOf(f, 1), unixMilliseconds: Number(uint(f, 2)) };
  }
  return event;
}

export function encodeSignedEvent(signature, eventBytes) {
  return new Writer().bytesField(1, signature).bytesField(2, eventBytes).finish();
}

export function decodeSignedEvent(bytes) {
  const m = fields(bytes);
  return { signature: bytesOf(m, 1), eventBytes: bytesOf(m, 2) };
}

export function encodeEvents(signedEvents) {
  const w = new Writer();
  for (const s of signedEvents) w.message(1, s);
  return w.finish();
}

// Events, or any message whose field `field` is repeated SignedEvent.
export function decodeSignedEvents(bytes, field = 1) {
  return many(fields(bytes), field).map(decodeSignedEvent);
}

// ResultEventsAndRelatedEventsAndCursor { Events result_events = 1; …; bytes cursor = 3 }
export function decodeResultEvents(bytes) {
  const m = fields(bytes);
  return {
    events: decodeSignedEvents(bytesOf(m, 1)),
    cursor: one(m, 3),
  };
}

// QueryReferencesResponse { repeated item = 1 { SignedEvent event = 1; counts = 2 }; cursor = 3 }
export function decodeReferencesResponse(bytes) {
  const m = fields(bytes);
  return {
    items: many(m, 1).map((item) => {
      const f = fields(item);
      return { signed: decodeSignedEvent(bytesOf(f, 1)), counts: packedUints(f, 2) };
    }),
    cursor: one(m, 3),
    counts: packedUints(m, 4),
  };
}

export function encodeRepeatedUInt64(numbers) { return new Writer().packed(1, numbers).finish(); }

// RangesForSystem { repeated RangesForProcess { Process process = 1; repeated Range { low, high } = 2 } = 1 }
export function decodeRanges(bytes) {
  return many(fields(bytes), 1).map((r) => {
    const f = fields(r);
    return {
      process: bytesOf(fields(bytesOf(f, 1)), 1),
      ranges: many(f, 2).map((range) => { const g = fields(range); return [uint(g, 1), uint(g, 2)]; }),
    };
  });
}

export function encodeRanges(list) {
  const w = new Writer();
  for (const { process, ranges } of list) {
    const r = new Writer().message(1, encodeProcess(process));
    for (const [low, high] of ranges) r.message(2, new Writer().uint(1, low).uint(2, high).finish());
    w.message(1, r.finish());
  }
  return w.finish();
}

export function encodePost(text) { return new Writer().string(1, text, true).finish(); }

export function decodePost(bytes) { return { text: fromUtf8(bytesOf(fields(bytes), 1)) }; }

// Pointer { PublicKey system = 1; Process process = 2; uint64 logical_clock = 3; Digest event_digest = 4 }
export function encodePointer(p) {
  return new Writer()
    .message(1, encodePublicKey(p.system))
    .message(2, encodeProcess(p.process))
    .uint(3, p.logicalClock)
    .message(4, new Writer().uint(1, 1).bytesField(2, p.digest).finish())
    .finish();
}

export function decodePointer(bytes) {
  const m = fields(bytes);
  return {
    system: decodePublicKey(bytesOf(m, 1)).key,
    process: bytesOf(fields(bytesOf(m, 2)), 1),
    logicalClock: uint(m, 3),
  };
}

// QueryReferencesRequest { Reference reference = 1; bytes cursor = 2;
//   QueryReferencesRequestEvents request_events = 3 { from_type = 1 } }
export function encodeReferencesRequest(pointerBytes, fromType, cursor) {
  const w = new Writer().message(1, new Writer().uint(1, ReferenceType.pointer).bytesField(2, pointerBytes).finish());
  if (cursor) w.bytesField(2, cursor, true);
  w.message(3, new Writer().uint(1, fromType, true).finish());
  return w.finish();
}

// URLInfo { url_type = 1; body = 2 }: 1 URLInfoSystemLink { system, servers }, 2 URLInfoEventLink
// { system, process, logical_clock, servers }, 3 ExportBundle.
export function encodeSystemLink(system, servers) {
  const body = new Writer().message(1, encodePublicKey(system));
  for (const s of servers) body.string(2, s, true);
  return toBase64(new Writer().uint(1, 1).message(2, body.finish()).finish(), true);
}

export function encodeEventLink(system, process, logicalClock, servers) {
  const body = new Writer().message(1, encodePublicKey(system)).message(2, encodeProcess(process)).uint(3, logicalClock);
  for (const s of servers) body.string(4, s, true);
  return toBase64(new Writer().uint(1, 2).message(2, body.finish()).finish(), true);
}

// A share link (or a URL ending in one, or polycentric://…) → { kind, system, process?, logicalClock? }.
export function decodeLink(text) {
  const last = text.trim().split('/').filter((part) => part.length > 0).at(-1) ?? '';
  const info = fields(fromBase64(last));
  const type = uint(info, 1);
  const body = fields(bytesOf(info, 2));
  const system = decodePublicKey(bytesOf(body, 1));
  if (system.keyType !== 1n || system.key.length !== 32) throw new Error('the link does not name an Ed25519 system');
  if (type === 1n) return { kind: 'user', system: system.key };
  if (type === 2n) {
    const process = bytesOf(fields(bytesOf(body, 2)), 1);
    if (process.length !== 16) throw new Error('the link names a process that is not 16 bytes');
    return { kind: 'post', system: system.key, process, logicalClock: uint(body, 3) };
  }
  throw new Error(`url_type ${type} is not a user (1) or post (2) link`);
}

// ExportBundle { KeyPair key_pair = 1 { key_type = 1; private_key = 2; public_key = 3 }; Events events = 2 }
export function encodeExportBundle(seed, publicKey, signedEvents = []) {
  return new Writer()
    .message(1, new Writer().uint(1, 1).bytesField(2, seed).bytesField(3, publicKey).finish())
    .message(2, encodeEvents(signedEvents))
    .finish();
}

export function decodeExportBundle(bytes) {
  const m = fields(bytes);
  const pair = fields(bytesOf(m, 1));
  return {
    keyType: uint(pair, 1),
    seed: bytesOf(pair, 2),
    publicKey: bytesOf(pair, 3),
    events: decodeSignedEvents(bytesOf(m, 2)),
  };
}
