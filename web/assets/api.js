// The Polycentric v1 routes of the server that serves this page (docs/SOCIAL_API.md). Every
// event a read returns is checked before it is shown: its Ed25519 signature over the event
// bytes (WebCrypto), and that it belongs to the system asked for.

import {
  ContentType, decodeEvent, decodeRanges, decodeReferencesResponse, decodeResultEvents,
  decodePublicKey, decodeSignedEvents, encodeEvents, encodePointer, encodePublicKey, encodeRanges,
  encodeReferencesRequest, encodeRepeatedUInt64, equalBytes, fromBase64, toBase64,
} from './proto.js';

const OUTBOX_KEY = 'polygate.outbox';

export class ServerError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

const verifiers = new Map();

async function verify(signed) {
  const event = decodeEvent(signed.eventBytes);
  if (event.keyType !== 1n || event.system.length !== 32) return null;
  const id = toBase64(event.system);
  if (!verifiers.has(id)) {
    verifiers.set(id, crypto.subtle.importKey('raw', event.system, { name: 'Ed25519' }, false, ['verify']));
  }
  const key = await verifiers.get(id);
  if (!(await crypto.subtle.verify('Ed25519', key, signed.signature, signed.eventBytes))) return null;
  event.signed = signed;
  event.digest = new Uint8Array(await crypto.subtle.digest('SHA-256', signed.eventBytes));
  return event;
}

// Verified events; one that fails is a server fault, reported rather than shown.
async function verified(list, system) {
  const events = await Promise.all(list.map(verify));
  if (events.some((e) => e === null)) throw new ServerError('The server sent an event whose signature does not verify.');
  if (system && events.some((e) => !equalBytes(e.system, system))) throw new ServerError('The server sent another user\'s event.');
  return events;
}

async function request(path, options = {}) {
  let response;
  try {
    // `no-cache`: the browser asks again instead of reusing its copy of a read (upstream's
    // max-age=5 would hide a post just made); a CDN in front may still answer from its cache.
    response = await fetch(path, { cache: 'no-cache', ...options, headers: { 'X-Polycentric-User-Agent': 'polygate-web', ...(options.headers ?? {}) } });
  } catch {
    throw new ServerError('The server cannot be reached. Check your connection and try again.');
  }
  if (!response.ok) {
    const text = (await response.text()).trim().slice(0, 300);
    throw new ServerError(`The server refused (${response.status}): ${text || response.statusText}`, response.status);
  }
  return new Uint8Array(await response.arrayBuffer());
}

const param = (bytes) => toBase64(bytes, true);
const systemParam = (system) => param(encodePublicKey(system));

export async function postEvents(signedEvents) {
  await request('/events', { method: 'POST', headers: { 'Content-Type': 'application/octet-stream' }, body: encodeEvents(signedEvents) });
}

export async function ranges(system) {
  return decodeRanges(await request(`/ranges?system=${systemParam(system)}`));
}

// One event by (system, process, clock), or null when the server does not have it.
export async function event(system, process, logicalClock) {
  const body = await request(`/events?system=${systemParam(system)}&ranges=${param(encodeRanges([{ process, ranges: [[logicalClock, logicalClock]] }]))}`);
  const events = await verified(decodeSignedEvents(body), system);
  return events.find((e) => e.logicalClock === BigInt(logicalClock)) ?? null;
}

// Events of one type, newest first, strictly before `before` (ms) when given.
export async function index(system, contentType, { before, limit = 20 } = {}) {
  let path = `/query_index?system=${systemParam(system)}&content_type=${contentType}&limit=${limit}`;
  if (before !== undefined) path += `&after=${before}`;
  return verified(decodeSignedEvents(await request(path)), system);
}

export async function latest(system, types) {
  return verified(decodeSignedEvents(await request(`/query_latest?system=${systemParam(system)}&event_types=${param(encodeRepeatedUInt64(types))}`)), system);
}

export async function explore(cursor) {
  let path = '/explore?limit=20';
  if (cursor) path += `&cursor=${param(cursor)}`;
  const answer = decodeResultEvents(await request(path));
  return { events: await verified(answer.events), cursor: answer.cursor };
}

export async function search(text, profiles, cursor) {
  let path = `/search?search=${encodeURIComponent(text)}&limit=20&search_type=${profiles ? 'profiles' : 'messages'}`;
  if (cursor) path += `&cursor=${param(cursor)}`;
  const answer = decodeResultEvents(await request(path));
  return { events: await verified(answer.events), cursor: answer.cursor };
}

// Replies to a post (events of type Post that reference it), 20 per page.
export async function replies(post, cursor) {
  const pointer = encodePointer(post);
  const answer = decodeReferencesResponse(await request(`/query_references?query=${param(encodeReferencesRequest(pointer, ContentType.post, cursor))}`));
  return { events: await verified(answer.items.map((i) => i.signed)), cursor: answer.cursor };
}

// The winning value of an LWW element (greatest time; on a tie the greater process).
export function lwwValue(events, type) {
  let best = null;
  for (const e of events) {
    if (e.contentType !== type || !e.lwwElement) continue;
    if (!best || e.lwwElement.unixMilliseconds > best.lwwElement.unixMilliseconds
      || (e.lwwElement.unixMilliseconds === best.lwwElement.unixMilliseconds && compareBytes(e.process, best.process) > 0)) best = e;
  }
  return best ? new TextDecoder().decode(best.lwwElement.value) : null;
}

function compareBytes(a, b) {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

const profiles = new Map();

// A user's name and description (cached for the page's life; `fresh` asks again).
export async function profile(system, fresh = false) {
  const id = toBase64(system);
  if (fresh || !profiles.has(id)) {
    profiles.set(id, latest(system, [ContentType.username, ContentType.description]).then((events) => ({
      name: lwwValue(events, ContentType.username),
      description: lwwValue(events, ContentType.description),
    })).catch((error) => { profiles.delete(id); throw error; }));
  }
  return profiles.get(id);
}

// Whom `system` follows: its Follow events (all processes), the newest per followed system
// deciding.
export async function following(system) {
  const latestBySystem = new Map();
  let before;
  for (let page = 0; page < 50; page++) {
    const events = await index(system, ContentType.follow, { before, limit: 100 });
    for (const e of events) {
      if (e.contentType === ContentType.follow && e.lwwElementSet) {
        const key = toBase64(e.lwwElementSet.value);
        const current = latestBySystem.get(key);
        if (!current || current.unixMilliseconds < e.lwwElementSet.unixMilliseconds) latestBySystem.set(key, e.lwwElementSet);
      }
      if (e.unixMilliseconds !== undefined) before = e.unixMilliseconds;
    }
    if (events.length < 100) break;
  }
  const result = [];
  for (const [key, element] of latestBySystem) {
    if (element.remove) continue;
    // The value is a serialized PublicKey; only Ed25519 keys (type 1, 32 bytes) are followed.
    try {
      const followed = decodePublicKey(fromBase64(key));
      if (followed.keyType === 1n && followed.key.length === 32) result.push(followed.key);
    } catch { /* not a PublicKey: skipped */ }
  }
  return result;
}

// ---- events signed here, kept until the server has them ----

export function outbox() {
  try { return (JSON.parse(localStorage.getItem(OUTBOX_KEY) ?? '[]')).map((b) => fromBase64(b)); } catch { return []; }
}

export function enqueue(signed) {
  localStorage.setItem(OUTBOX_KEY, JSON.stringify([...outbox(), signed].map((b) => toBase64(b))));
}

// Uploads what waits, 20 events per request as upstream's client does; what fails stays queued.
export async function flush() {
  let waiting = outbox();
  while (waiting.length > 0) {
    const batch = waiting.slice(0, 20);
    await postEvents(batch);
    waiting = waiting.slice(batch.length);
    localStorage.setItem(OUTBOX_KEY, JSON.stringify(waiting.map((b) => toBase64(b))));
  }
}
