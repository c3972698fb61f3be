// Gate page: a scanner (or an owner or manager) signs in, picks one of the
// events it may check tickets in at, and checks codes scanned with the
// camera or typed; the answer fills the screen in one colour per result.
// While the API is unreachable it checks codes itself with the event's
// public keys and revocation list, queues what it admitted and sends the
// queue when the API answers again (ADR 21). Locally a dev token with the staff role and an organization stands in for
// the staff sign-in.
import { h, api, session, signOut, signInForm, explain, clock, when, announce, loadConfig } from '/lib.js';

const $ = id => document.getElementById(id);
const me = () => session('staff');
const call = (path, o = {}) => api(path, { ...o, token: me()?.token });
const keys = { gate: 'stararena.gate.name', event: 'stararena.gate.event', events: 'stararena.gate.events',
  queue: 'stararena.gate.queue', kit: ev => `stararena.gate.kit.${ev}`, seen: ev => `stararena.gate.seen.${ev}` };
const read = k => { try { return JSON.parse(localStorage.getItem(k)); } catch { return null; } };
const write = (k, v) => localStorage.setItem(k, JSON.stringify(v));
// unreachable: the request never got an answer from the platform (no
// network, or API Gateway/CloudFront without a function behind it).
const unreachable = x => x.code === 'NETWORK' || [502, 503, 504].includes(x.status);
let names = {};

const seat = r => r.seat ? `Seat ${r.seat}` : 'This ticket';
const verdicts = {
  ADMITTED: ['Admitted', r => `${seat(r)}. Let them in.`],
  ALREADY_USED: ['Already used', r => `${seat(r)} was admitted${r.firstScanAt ? ` at ${clock(r.firstScanAt)}` : ' earlier'}` +
    `${r.firstScanGate ? ` at gate ${r.firstScanGate}` : ''}. Do not admit: send them to the box office.`],
  REVOKED: ['Revoked', r => r.reason === 'transferred'
    ? `${seat(r)}: this ticket was transferred to another account, whose new code replaces it. Do not admit this code.`
    : `${seat(r)}: this ticket was refunded. Do not admit.`],
  WRONG_EVENT: ['Wrong event', r => `This ticket is for another event (${names[r.eventId] || r.eventId}). Do not admit here.`],
  INVALID: ['Invalid', () => 'Not a StarArena ticket, or a code replaced by a newer one. Do not admit.'],
  EXPIRED: ['Expired code', r => `${seat(r)}: this live code is too old: a screenshot or old code. Ask for the ticket page on the holder's phone (its code changes every 30 seconds). Do not admit with this one.`],
  STATIC_NOT_ACCEPTED: ['Printed code refused', r => `${seat(r)}: this event accepts only the live code on the ticket holder's phone, not a printed or saved code. Do not admit with this one.`],
  ADMITTED_OFFLINE: ['Admitted offline', r => `${seat(r)}. Let them in: checked on this phone, sent to StarArena when the connection is back.`],
};

function start() {
  const s = me();
  $('who').replaceChildren(...(s ? [h('span', {}, `Signed in as ${s.name}`), ' ',
    h('button', { type: 'button', class: 'link', onclick: () => { signOut('staff'); location.reload(); } }, 'Sign out')] : []));
  if (!s) {
    $('app').hidden = true;
    $('signin').replaceChildren(signInForm('staff', 'Sign in with the account your organization gave you to check tickets.', start));
    return;
  }
  $('signin').replaceChildren();
  $('app').hidden = false;
  $('gate-name').value ||= localStorage.getItem(keys.gate) || 'gate-1';
  loadEvents();
}

// loadEvents offers the events this account may check in at (the last
// list seen when the API does not answer).
async function loadEvents() {
  $('events-problem').textContent = '';
  try {
    let events;
    try {
      ({ events } = await call('/admin/v1/checkin/events'));
      localStorage.setItem(keys.events, JSON.stringify(events));
    } catch (x) {
      events = unreachable(x) && read(keys.events);
      if (!events) throw x;
    }
    names = Object.fromEntries(events.map(e => [e.eventId, e.name]));
    $('event').replaceChildren(...events.map(e => h('option', { value: e.eventId }, `${e.name} · ${when(e.startsAt)}`)));
    const saved = localStorage.getItem(keys.event);
    if (names[saved]) $('event').value = saved;
    if (!events.length) $('events-problem').textContent = 'No event is assigned to this account yet: ask an owner of your organization.';
    fetchKit();
  } catch (x) {
    if (x.code === 'UNAUTHORIZED') return expired();
    $('events-problem').textContent = x.status === 403
      ? 'This account may not check tickets in: ask an owner of your organization for the scanner role.' : explain(x);
  }
}

function expired() {
  signOut('staff');
  start();
syncStatus();
}

// A fresh nonce per scan: the API answers a repeated nonce as the first
// time, so a retry of one scan can never count as a second person.
const nonce = () => Array.from(crypto.getRandomValues(new Uint8Array(12)), b => b.toString(16).padStart(2, '0')).join('');

function show(result, word, why) {
  const box = $('result');
  box.hidden = false;
  box.dataset.result = result;
  box.querySelector('.word').textContent = word;
  box.querySelector('.why').textContent = why;
  announce(`${word}. ${why}`);
}

function remember(word, r) {
  $('recent').prepend(h('tr', {}, h('td', {}, clock(Date.now())), h('td', {}, word), h('td', {}, r.seat || '')));
  while ($('recent').rows.length > 20) $('recent').lastChild.remove();
}

function verdict(r, suffix = '') {
  const [word, why] = verdicts[r.result] || [r.result, () => ''];
  show(r.result, word, why(r) + suffix);
  remember(word, r);
}

async function check(code) {
  const eventId = $('event').value, gate = $('gate-name').value.trim();
  if (!code) return;
  if (!eventId) return show('ERROR', 'Choose an event', 'Pick the event this gate scans for first.');
  show('CHECKING', 'Checking…', '');
  const scan = { eventId, code, nonce: nonce(), gate };
  try {
    const r = await call('/v1/checkin', { method: 'POST', body: scan });
    if (r.result === 'ADMITTED') markSeen(eventId, parseCode(code), gate);
    verdict(r);
  } catch (x) {
    if (unreachable(x)) return offline(scan);
    if (x.code === 'UNAUTHORIZED') expired();
    show('ERROR', 'Not checked', explain(x));
  }
}

// ------------------------------------------------------------ offline

// fetchKit keeps the chosen event's public keys and revocation list for
// checking codes offline, and refreshes them every minute.
let kitTimer = 0;
async function fetchKit() {
  clearTimeout(kitTimer);
  kitTimer = setTimeout(fetchKit, 60e3);
  const ev = $('event').value;
  if (!ev) return;
  try {
    write(keys.kit(ev), await call(`/admin/v1/events/${encodeURIComponent(ev)}/gate-kit`));
  } catch { /* keep the last one */ }
  const kit = read(keys.kit(ev));
  rotating().catch(() => {});
  $('kit').textContent = kit ? `Offline checks ready: keys and ${kit.revocations.length} revoked ticket(s) as of ${clock(kit.at)}.`
    : 'Offline checks are not ready: this phone has not reached StarArena for this event yet.';
}

const unb64 = t => Uint8Array.from(atob(t.replace(/-/g, '+').replace(/_/g, '/')), c => c.charCodeAt(0));
const hex = b => Array.from(b, x => x.toString(16).padStart(2, '0')).join('');

// parseCode reads a ticket code T2.<kid>.<payload>.<signature> without
// checking its signature (internal/tickets/codec.go has the format): null
// when it is not one.
function parseCode(code) {
  const rot = rotatingParts(code);
  if (rot) {
    const t = parseCode(rot.static);
    return t && { ...t, rotating: rot };
  }
  const p = code.split('.');
  if (p.length !== 4 || p[0] !== 'T2' || !/^[A-Za-z0-9_.-]+$/.test(code)) return null;
  let b;
  try { b = unb64(p[2]); } catch { return null; }
  const f = [];
  let i = 0;
  for (let n = 0; n < 3; n++) {
    const tag = b[i++];
    if (tag === 0xff && i + 16 <= b.length) {
      const u = hex(b.slice(i, i + 16));
      f.push(`${u.slice(0, 8)}-${u.slice(8, 12)}-${u.slice(12, 16)}-${u.slice(16, 20)}-${u.slice(20)}`);
      i += 16;
    } else if (tag >= 1 && tag <= 64 && i + tag <= b.length) {
      f.push(String.fromCharCode(...b.slice(i, i + tag)));
      i += tag;
    } else return null;
  }
  const uvarint = () => {
    let v = 0, shift = 0;
    while (i < b.length) {
      const c = b[i++];
      v += (c & 0x7f) * 2 ** shift;
      if (!(c & 0x80)) return v;
      shift += 7;
    }
    return -1;
  };
  const version = uvarint(), exp = uvarint();
  if (version < 1 || exp < 1 || i !== b.length) return null;
  return { kid: p[1], signed: p.slice(0, 3).join('.'), sig: p[3], eventId: f[0], orderId: f[1], seat: f[2], version, exp };
}

// rotatingParts splits a rotating code R2.<kid>.<payload>.<signature>.<step>.<mac>
// (ADR 28) into the static code it carries, its step and MAC; null when
// code is not one.
function rotatingParts(code) {
  const p = code.split('.');
  if (p.length !== 6 || p[0] !== 'R2' || !/^(0|[1-9][0-9]{0,10})$/.test(p[4]) || !/^[A-Za-z0-9_-]{16}$/.test(p[5])) return null;
  return { static: ['T2', ...p.slice(1, 4)].join('.'), step: Number(p[4]), mac: p[5] };
}
// Checking rotating codes offline loads with the first kit, while online.
let rotMod = null;
const rotating = () => (rotMod ??= import('/gate/rotating.js').catch(e => { rotMod = null; throw e; }));

const ticketKey = t => `${t.orderId}/${t.seat}`;
function markSeen(eventId, t, gate) {
  if (!t) return;
  const seen = read(keys.seen(eventId)) || {};
  seen[ticketKey(t)] ??= { at: new Date().toISOString(), gate };
  write(keys.seen(eventId), seen);
}

// verifyOffline answers as the API would, from what this phone knows: the
// signature against the event's keys, the event, the revocation list, and
// the tickets this phone admitted. UNCHECKED when it cannot tell.
async function verifyOffline(code, eventId) {
  const kit = read(keys.kit(eventId)), t = parseCode(code);
  if (!kit) return { result: 'UNCHECKED' };
  const key = t && kit.keys.find(k => k.kid === t.kid);
  if (!key) return { result: 'INVALID' };
  let ok;
  try {
    const k = await crypto.subtle.importKey('raw', unb64(key.x), { name: 'Ed25519' }, false, ['verify']);
    ok = await crypto.subtle.verify({ name: 'Ed25519' }, k, unb64(t.sig), new TextEncoder().encode(t.signed));
  } catch { return { result: 'UNCHECKED' }; } // no Ed25519 in this browser's WebCrypto
  if (!ok) return { result: 'INVALID' };
  // As the API does: a code past its signed expiry admits no one.
  if (Date.now() / 1000 > t.exp) return { result: 'INVALID' };
  if (t.eventId !== eventId) return { result: 'WRONG_EVENT', eventId: t.eventId, seat: t.seat };
  let shown;
  try { shown = await (await rotating()).shownOffline(kit, t); } catch { return { result: 'UNCHECKED' }; }
  if (shown) return shown;
  const rev = kit.revocations.find(r => r.orderId === t.orderId && r.seat === t.seat && t.version <= r.upToVersion);
  if (rev) return { result: 'REVOKED', seat: t.seat, reason: rev.reason };
  const seen = (read(keys.seen(eventId)) || {})[ticketKey(t)];
  if (seen) return { result: 'ALREADY_USED', seat: t.seat, firstScanAt: seen.at, firstScanGate: seen.gate };
  return { result: 'ADMITTED_OFFLINE', seat: t.seat, ticket: t };
}

async function offline(scan) {
  const r = await verifyOffline(scan.code, scan.eventId);
  if (r.result === 'UNCHECKED') {
    return show('ERROR', 'Not checked', 'StarArena cannot be reached and this phone cannot check this code by itself. Try again in a moment.');
  }
  if (r.result === 'ADMITTED_OFFLINE') {
    markSeen(scan.eventId, r.ticket, scan.gate);
    write(keys.queue, [...(read(keys.queue) || []), { ...scan, seat: r.seat, at: new Date().toISOString() }]);
    syncStatus();
  }
  verdict(r, r.result === 'ADMITTED_OFFLINE' ? '' : ' (checked offline)');
}

function syncStatus() {
  const n = (read(keys.queue) || []).length;
  $('sync').textContent = n ? `${n} offline scan${n === 1 ? '' : 's'} waiting to be sent to StarArena.` : sent ? 'All offline scans sent.' : '';
}

// sync sends the queued scans in the order they were made, each with its
// own nonce (a resend gets the first answer). The platform's first scan of
// a ticket wins: a queued scan it refuses is shown as a conflict.
let syncing = false, sent = false;
async function sync() {
  if (syncing || !me()) return;
  syncing = true;
  try {
    for (let q = read(keys.queue) || []; q.length; q = read(keys.queue) || []) {
      const s = q[0];
      let r;
      try {
        // scannedAt: a live code is checked against when this phone saw it (ADR 28).
        r = await call('/v1/checkin', { method: 'POST', body: { eventId: s.eventId, code: s.code, nonce: s.nonce, gate: s.gate, scannedAt: s.at } });
      } catch (x) {
        if (unreachable(x) || x.code === 'UNAUTHORIZED' || x.status >= 500) break;
        r = { result: x.code, message: explain(x) };
      }
      if (r.result !== 'ADMITTED') conflict(s, r);
      write(keys.queue, (read(keys.queue) || []).filter(o => o.nonce !== s.nonce));
      sent = true;
    }
  } finally {
    syncing = false;
    syncStatus();
  }
}

function conflict(s, r) {
  const word = (verdicts[r.result]?.[0] || r.result).toUpperCase();
  const why = r.result === 'ALREADY_USED'
    ? `the first scan wins: it got in${r.firstScanAt ? ` at ${clock(r.firstScanAt)}` : ''}${r.firstScanGate ? ` at gate ${r.firstScanGate}` : ''}.`
    : r.message || 'this ticket should not have got in.';
  $('conflicts-box').hidden = false;
  $('conflicts').prepend(h('li', {}, h('strong', {}, `Seat ${s.seat}`), ` admitted offline at ${clock(s.at)} (gate ${s.gate || '—'}); StarArena answered `,
    h('strong', {}, word), `: ${why}`));
  announce(`An offline scan was refused: seat ${s.seat}, ${word}.`);
}

setInterval(sync, 3000);
addEventListener('online', sync);

$('scan').addEventListener('submit', async e => {
  e.preventDefault();
  const code = $('code').value.trim();
  $('code').value = '';
  await check(code);
  $('code').focus();
});
$('event').addEventListener('change', () => { localStorage.setItem(keys.event, $('event').value); fetchKit(); });
$('gate-name').addEventListener('change', () => localStorage.setItem(keys.gate, $('gate-name').value.trim()));

// The camera reads QR codes with the browser's BarcodeDetector; browsers
// without it (Firefox, Safari before 17 on some devices) type codes only.
function setupCamera() {
  const btn = $('camera'), video = $('video');
  if (!('BarcodeDetector' in window) || !navigator.mediaDevices?.getUserMedia) {
    $('code-hint').textContent += ' This browser cannot read QR codes itself: type the code.';
    return;
  }
  btn.hidden = false;
  let stream = null;
  const stop = () => {
    stream?.getTracks().forEach(t => t.stop());
    stream = null;
    video.hidden = true;
    btn.textContent = 'Scan with the camera';
  };
  btn.addEventListener('click', async () => {
    if (stream) return stop();
    try {
      if (!(await BarcodeDetector.getSupportedFormats()).includes('qr_code')) throw new Error('no QR support');
      const detector = new BarcodeDetector({ formats: ['qr_code'] });
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' } });
      video.srcObject = stream;
      video.hidden = false;
      btn.textContent = 'Stop the camera';
      await video.play();
      // A code held in front of the camera is read many times a second:
      // the same code again within 3 s is the same scan.
      let last = '', lastAt = 0;
      const tick = async () => {
        if (!stream) return;
        try {
          const [c] = await detector.detect(video);
          if (c && (c.rawValue !== last || Date.now() - lastAt > 3000)) {
            last = c.rawValue;
            lastAt = Date.now();
            await check(c.rawValue.trim());
          }
        } catch { /* a frame that could not be read */ }
        setTimeout(tick, 200);
      };
      tick();
    } catch {
      stop();
      show('ERROR', 'No camera', 'The camera is not available here: type the code instead.');
    }
  });
}

setupCamera();
// The deployment's config names the staff sign-in; it also finishes one
// that comes back here with a code.
await loadConfig();
start();
syncStatus();
