// The polygate web client: the Polycentric social feed in a browser (polygate(7), "WEB CLIENT").
// Views: welcome (create or import an identity), unlock, timeline, a user, a post with its
// replies, explore, search. Text from the network is only ever set as textContent.

import * as api from './api.js';
import { Identity, IdentityError } from './identity.js';
import {
  ContentType, decodeLink, decodePointer, decodePost, encodeEventLink, encodeSystemLink, equalBytes, fromHex, toHex,
} from './proto.js';

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const status = document.getElementById('status');
let me = null;  // the unlocked Identity
// Posts this page published, shown at once even where a cache (a CDN in front of the server)
// still answers with a page from before them.
const published = [];

// ---- small DOM helpers ----

function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on')) element.addEventListener(name.slice(2), value);
    else if (name === 'text') element.textContent = value;
    else element.setAttribute(name, value === true ? '' : value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

function field(id, label, input) {
  return h('div', { class: 'field' }, h('label', { for: id, text: label }), input);
}

function say(text, kind = 'info') {
  status.textContent = text;
  status.dataset.kind = kind;
}

function fail(error) {
  if (error.shown) return;  // publish() already said what happened
  const text = error instanceof IdentityError || error instanceof api.ServerError ? error.message : `Something went wrong: ${error.message}`;
  say(text, 'error');
}

// Runs an action with its button disabled; errors go to the status line.
async function busy(button, action) {
  button.disabled = true;
  try { await action(); } catch (error) { fail(error); } finally { button.disabled = false; }
}

function show(title, ...content) {
  document.title = `${title} — polygate`;
  main.replaceChildren(h('h1', { text: title }), ...content);
  main.focus();
}

// ---- links and routes ----

const origin = () => [location.origin];
const userPath = (system) => `/app/user/${encodeSystemLink(system, origin())}`;
const postPath = (e) => `/app/post/${encodeEventLink(e.system, e.process, e.logicalClock, origin())}`;

function go(path) {
  history.pushState(null, '', path);
  route();
}

function link(path, text, attributes = {}) {
  return h('a', { href: path, ...attributes, onclick: (event) => { event.preventDefault(); go(path); } }, text);
}

// A user given as a 64-character hex id or a share link (or a URL ending in one).
function parseUser(text) {
  const trimmed = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(trimmed)) return fromHex(trimmed);
  const parsed = decodeLink(trimmed);
  if (parsed.kind !== 'user') throw new IdentityError('That link is a post, not a user.');
  return parsed.system;
}

async function route() {
  say('');
  if (!me) return Identity.stored() ? unlockView() : welcomeView();
  renderNav();
  const parts = location.pathname.split('/').filter(Boolean);
  const query = new URLSearchParams(location.search);
  try {
    if (parts[1] === 'user' && parts[2]) return await userView(parseUser(parts[2]));
    if (parts[1] === 'post' && parts[2]) return await postView(parts[2]);
    if (query.get('view') === 'explore') return await exploreView();
    if (query.get('view') === 'search') return await searchView(query.get('q') ?? '', query.get('type') === 'profiles');
    return await timelineView();
  } catch (error) {
    show('Not available', h('p', { text: 'This page could not be shown.' }));
    fail(error);
  }
}

function renderNav() {
  nav.replaceChildren(h('ul', {},
    h('li', {}, link('/app/', 'Timeline')),
    h('li', {}, link('/app/?view=explore', 'Explore')),
    h('li', {}, link('/app/?view=search', 'Search')),
    h('li', {}, link(userPath(me.publicKey), 'My profile', { id: 'nav-profile' })),
    h('li', {}, h('button', { type: 'button', id: 'lock', onclick: () => { me = null; nav.replaceChildren(); route(); } }, 'Lock')),
  ));
}

// ---- identity views ----

function welcomeView() {
  nav.replaceChildren();
  const name = h('input', { id: 'create-name', autocomplete: 'username', maxlength: '100' });
  const pass = h('input', { id: 'create-passphrase', type: 'password', autocomplete: 'new-password', required: true, minlength: '8' });
  const confirm = h('input', { id: 'create-confirm', type: 'password', autocomplete: 'new-password', required: true });
  const create = h('form', { id: 'create-form' },
    h('h2', { text: 'Create a new identity' }),
    h('p', { text: 'Your key is made in this browser and stored here, encrypted under your passphrase. It is never sent to the server.' }),
    field('create-name', 'Your name', name),
    field('create-passphrase', 'Passphrase (at least 8 characters)', pass),
    field('create-confirm', 'Passphrase again', confirm),
    h('button', { id: 'create-submit', type: 'submit' }, 'Create identity'));
  create.addEventListener('submit', (event) => {
    event.preventDefault();
    if (pass.value.length < 8) return say('The passphrase needs at least 8 characters.', 'error');
    if (pass.value !== confirm.value) return say('The two passphrases differ.', 'error');
    busy(create.querySelector('button'), async () => {
      say('Creating your key…');
      me = await Identity.create(pass.value);
      try {
        if (name.value.trim()) await publish(await me.setName(name.value.trim()));
        say('Your identity is ready.');
      } catch (error) {
        if (!error.shown) throw error;  // the name waits in the outbox; the identity is made
      }
      go('/app/');
    });
  });

  const file = h('input', { id: 'import-file', type: 'file', accept: '.json,application/json', required: true });
  const filePass = h('input', { id: 'import-passphrase', type: 'password', autocomplete: 'current-password', required: true });
  const newPass = h('input', { id: 'import-new-passphrase', type: 'password', autocomplete: 'new-password', required: true, minlength: '8' });
  const importing = h('form', { id: 'import-form' },
    h('h2', { text: 'Use an identity you already have' }),
    h('p', {}, 'On a computer with polychat: ', h('code', { text: 'polychat identity export --web FILE' }), ', then choose that file here.'),
    field('import-file', 'Identity file', file),
    field('import-passphrase', 'The file\'s passphrase', filePass),
    field('import-new-passphrase', 'A passphrase for this browser (at least 8 characters)', newPass),
    h('button', { id: 'import-submit', type: 'submit' }, 'Import identity'));
  importing.addEventListener('submit', (event) => {
    event.preventDefault();
    if (newPass.value.length < 8) return say('The new passphrase needs at least 8 characters.', 'error');
    busy(importing.querySelector('button'), async () => {
      let envelope;
      try { envelope = JSON.parse(await file.files[0].text()); } catch { throw new IdentityError('That file is not a polygate identity file (it is not JSON).'); }
      say('Opening the identity file…');
      me = await Identity.importFile(envelope, filePass.value, newPass.value);
      await start();
      say('Identity imported.');
      go('/app/');
    });
  });
  show('Welcome to polygate', create, importing);
}

function unlockView() {
  nav.replaceChildren();
  const stored = Identity.stored();
  const pass = h('input', { id: 'unlock-passphrase', type: 'password', autocomplete: 'current-password', required: true });
  const form = h('form', { id: 'unlock-form' },
    h('p', {}, 'This browser holds the identity ', h('code', { class: 'id', text: stored.publicKey }), '.'),
    // For password managers: which identity this passphrase belongs to.
    h('input', { type: 'text', name: 'username', autocomplete: 'username', value: stored.publicKey, hidden: true, readonly: true }),
    field('unlock-passphrase', 'Passphrase', pass),
    h('button', { id: 'unlock-submit', type: 'submit' }, 'Unlock'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    busy(form.querySelector('button'), async () => {
      say('Unlocking…');
      me = await Identity.unlock(pass.value);
      await start();
      say('');
      route();
    });
  });
  const forget = h('button', { type: 'button', id: 'forget', class: 'danger', onclick: () => {
    if (confirm('Remove the identity from this browser? Without an exported copy it is gone for good.')) {
      Identity.forget();
      route();
    }
  } }, 'Remove this identity from the browser');
  show('Unlock', form, h('details', {}, h('summary', { text: 'Another identity?' }), forget));
}

// After unlocking: a process the server knows further than this browser is not reused, and
// events signed while offline are uploaded.
async function start() {
  try {
    me.log.reconcile(await api.ranges(me.publicKey));
    await api.flush();
  } catch (error) {
    fail(error);
  }
}

// Queues a signed event and uploads the queue; an event the server did not take stays queued.
async function publish(appended) {
  api.enqueue(appended.signed);
  if (appended.event.contentType === ContentType.post) published.push(appended.event);
  try {
    await api.flush();
  } catch (error) {
    say(`Saved in this browser, not yet on the server (${error.message}); it is sent again on your next action or unlock.`, 'error');
    throw Object.assign(new Error('not uploaded'), { shown: true });
  }
  return appended;
}

// ---- showing events ----

async function authorName(system) {
  try {
    const profile = await api.profile(system);
    return profile.name || `${toHex(system).slice(0, 12)}…`;
  } catch {
    return `${toHex(system).slice(0, 12)}…`;
  }
}

function renderPost(e, author) {
  const when = e.unixMilliseconds ? new Date(e.unixMilliseconds) : null;
  const text = decodePost(e.content).text;
  const replyTo = e.references.find((r) => r.type === 2);
  return h('article', { class: 'post', 'data-link': postPath(e) },
    h('header', {},
      link(userPath(e.system), author, { class: 'author' }),
      when ? h('time', { datetime: when.toISOString(), text: when.toLocaleString() }) : null),
    replyTo ? h('p', { class: 'reply-to' }, link(postPathOfPointer(replyTo.reference), 'in reply to a post')) : null,
    h('p', { class: 'text', text }),
    h('footer', {}, link(postPath(e), 'Open and reply', { class: 'open' })));
}

function postPathOfPointer(bytes) {
  const p = decodePointer(bytes);
  return `/app/post/${encodeEventLink(p.system, p.process, p.logicalClock, origin())}`;
}

// Events once each (by system, process and clock).
function unique(events) {
  const seen = new Set();
  return events.filter((e) => {
    const key = postPath(e);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

async function renderPosts(events) {
  const posts = events.filter((e) => e.contentType === ContentType.post);
  const names = await Promise.all(posts.map((e) => authorName(e.system)));
  return posts.map((e, i) => renderPost(e, names[i]));
}

function composer(id, label, onPost) {
  const text = h('textarea', { id: `${id}-text`, rows: '3', maxlength: '10000', required: true });
  const form = h('form', { class: 'composer', id }, field(`${id}-text`, label, text), h('button', { id: `${id}-submit`, type: 'submit' }, 'Post'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (!text.value.trim()) return say('Write something first.', 'error');
    busy(form.querySelector('button'), async () => {
      try {
        await onPost(text.value);
        text.value = '';
      } catch (error) {
        if (!error.shown) throw error;
      }
    });
  });
  return form;
}

// ---- main views ----

async function timelineView() {
  const list = h('div', { class: 'posts', id: 'timeline', 'aria-live': 'polite' });
  const more = h('button', { type: 'button', id: 'older', hidden: true }, 'Older posts');
  const followInput = h('input', { id: 'follow-input', placeholder: '64-character id or share link', autocomplete: 'off' });
  const followForm = h('form', { id: 'follow-form', class: 'inline' }, field('follow-input', 'Follow a user', followInput), h('button', { id: 'follow-submit', type: 'submit' }, 'Follow'));
  followForm.addEventListener('submit', (event) => {
    event.preventDefault();
    busy(followForm.querySelector('button'), async () => {
      let system;
      try { system = parseUser(followInput.value); } catch (error) { throw error instanceof IdentityError ? error : new IdentityError('Give a user\'s 64-character id or their share link.'); }
      await publish(await me.follow(system, true));
      followInput.value = '';
      say(`Following ${await authorName(system)}.`);
      await load(true);
    });
  });
  const post = composer('composer', 'New post', async (text) => {
    await publish(await me.post(text));
    say('Posted.');
    await load(true);
  });
  show('Timeline', post, followForm, list, more);

  // Pages merge the newest posts of everyone followed (and yours), newest first.
  // Whom the timeline shows is read once per reset, not again for every older page.
  let before, shown = new Set(), systems = [];
  async function load(reset) {
    if (reset) {
      before = undefined;
      shown = new Set();
      list.replaceChildren();
      systems = [me.publicKey, ...(await api.following(me.publicKey))];
    }
    const pages = await Promise.all(systems.map((s) => api.index(s, ContentType.post, { before: before === undefined ? undefined : before + 1, limit: 20 })));
    const mine = reset ? published.filter((e) => equalBytes(e.system, me.publicKey)) : [];
    const events = unique([...pages.flat(), ...mine]).filter((e) => e.contentType === ContentType.post && !shown.has(postPath(e)))
      .sort((a, b) => (b.unixMilliseconds ?? 0) - (a.unixMilliseconds ?? 0)).slice(0, 20);
    for (const e of events) shown.add(postPath(e));
    if (events.length > 0) before = events.at(-1).unixMilliseconds;
    list.append(...await renderPosts(events));
    if (list.children.length === 0) list.append(h('p', { class: 'empty', text: 'Nothing yet: write a post, or follow someone.' }));
    more.hidden = events.length < 20;
  }
  more.addEventListener('click', () => busy(more, () => load(false)));
  await load(true);
}

async function userView(system) {
  const self = toHex(system) === me.id;
  const profile = await api.profile(system, true);
  const name = profile.name || 'No name yet';
  const content = [
    profile.description ? h('p', { class: 'description', text: profile.description }) : null,
    h('p', {}, 'Id: ', h('code', { class: 'id', id: 'user-id', text: toHex(system) })),
    h('p', {}, 'Share link: ', h('a', { href: userPath(system), id: 'user-link', text: 'link to this profile' })),
  ];
  if (self) {
    const nameInput = h('input', { id: 'profile-name', value: profile.name ?? '', maxlength: '100' });
    const description = h('textarea', { id: 'profile-description', rows: '3', maxlength: '1000' });
    description.value = profile.description ?? '';
    const form = h('form', { id: 'profile-form' }, h('h2', { text: 'Edit your profile' }),
      field('profile-name', 'Name', nameInput), field('profile-description', 'Description', description),
      h('button', { id: 'profile-submit', type: 'submit' }, 'Save'));
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      busy(form.querySelector('button'), async () => {
        try {
          if (nameInput.value !== (profile.name ?? '')) await publish(await me.setName(nameInput.value));
          if (description.value !== (profile.description ?? '')) await publish(await me.setDescription(description.value));
        } catch (error) { if (!error.shown) throw error; return; }
        say('Profile saved.');
        await userView(system);
      });
    });
    const exported = h('button', { type: 'button', id: 'export-identity' }, 'Export identity');
    exported.addEventListener('click', () => {
      // The file is the sealed identity exactly as this browser stores it: the same passphrase opens it.
      const blob = new Blob([JSON.stringify(Identity.stored(), null, 2)], { type: 'application/json' });
      const anchor = h('a', { href: URL.createObjectURL(blob), download: 'polygate-identity.json' });
      document.body.append(anchor);
      anchor.click();
      anchor.remove();
      say('Saved polygate-identity.json, sealed under your passphrase: polychat init --import opens it on another device.');
    });
    content.push(form, h('h2', { text: 'Your identity on another device' }),
      h('p', { text: 'The file holds your secret key, encrypted under this browser\'s passphrase. Keep it safe.' }), exported);
  } else {
    const follows = (await api.following(me.publicKey)).some((s) => toHex(s) === toHex(system));
    const button = h('button', { type: 'button', id: 'follow-toggle' }, follows ? 'Unfollow' : 'Follow');
    button.addEventListener('click', () => busy(button, async () => {
      try { await publish(await me.follow(system, !follows)); } catch (error) { if (!error.shown) throw error; return; }
      say(follows ? `No longer following ${name}.` : `Following ${name}.`);
      await userView(system);
    }));
    content.push(button);
  }
  const list = h('div', { class: 'posts', id: 'user-posts' });
  const events = await api.index(system, ContentType.post, { limit: 20 });
  list.append(...await renderPosts(events));
  if (list.children.length === 0) list.append(h('p', { class: 'empty', text: 'No posts yet.' }));
  show(name, ...content, h('h2', { text: 'Posts' }), list);
}

async function postView(linkText) {
  const target = decodeLink(linkText);
  if (target.kind !== 'post') return userView(target.system);
  const e = await api.event(target.system, target.process, target.logicalClock);
  if (!e || e.contentType !== ContentType.post) {
    show('Post not found', h('p', { text: 'This server does not have that post (it may have been deleted, or live on another server).' }));
    return;
  }
  const replies = h('div', { class: 'posts', id: 'replies' });
  const reply = composer('reply', 'Your reply', async (text) => {
    await publish(await me.post(text, { system: e.system, process: e.process, logicalClock: e.logicalClock, digest: e.digest }));
    say('Reply posted.');
    await loadReplies();
  });
  async function loadReplies() {
    const answer = await api.replies({ system: e.system, process: e.process, logicalClock: e.logicalClock, digest: e.digest });
    const mine = published.filter((p) => p.references.some((r) => r.type === 2 && postPathOfPointer(r.reference) === postPath(e)));
    replies.replaceChildren(...await renderPosts(unique([...answer.events, ...mine])));
    if (replies.children.length === 0) replies.append(h('p', { class: 'empty', text: 'No replies yet.' }));
  }
  show('Post', renderPost(e, await authorName(e.system)), reply, h('h2', { text: 'Replies' }), replies);
  await loadReplies();
}

async function exploreView() {
  const list = h('div', { class: 'posts', id: 'explore' });
  const more = h('button', { type: 'button', hidden: true }, 'Older posts');
  let cursor;
  async function load() {
    const page = await api.explore(cursor);
    cursor = page.cursor;
    list.append(...await renderPosts(page.events));
    more.hidden = !cursor || page.events.length === 0;
    if (list.children.length === 0) list.append(h('p', { class: 'empty', text: 'Nobody has posted on this server yet.' }));
  }
  more.addEventListener('click', () => busy(more, load));
  show('Explore', h('p', { text: 'Everything posted on this server, newest first.' }), list, more);
  await load();
}

async function searchView(text, profiles) {
  const input = h('input', { id: 'search-input', type: 'search', value: text, required: true });
  const kind = h('select', { id: 'search-type' }, h('option', { value: 'messages', text: 'Posts' }), h('option', { value: 'profiles', text: 'People', selected: profiles }));
  const form = h('form', { id: 'search-form', role: 'search' }, field('search-input', 'Search for', input), field('search-type', 'In', kind), h('button', { type: 'submit' }, 'Search'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    go(`/app/?view=search&q=${encodeURIComponent(input.value)}&type=${kind.value}`);
  });
  const results = h('div', { class: 'posts', id: 'search-results' });
  show('Search', form, results);
  if (!text.trim()) return;
  const page = await api.search(text, profiles);
  if (profiles) {
    const seen = new Set();
    for (const e of page.events) {
      const id = toHex(e.system);
      if (seen.has(id)) continue;
      seen.add(id);
      results.append(h('p', { class: 'person' }, link(userPath(e.system), await authorName(e.system))));
    }
  } else {
    results.append(...await renderPosts(page.events));
  }
  if (results.children.length === 0) results.append(h('p', { class: 'empty', text: 'Nothing matches.' }));
}

window.addEventListener('popstate', route);
if (!window.crypto?.subtle) {
  show('Not supported', h('p', { text: 'This page needs WebCrypto, which browsers offer only over https:// (or on localhost).' }));
} else {
  route();
}
