// Gate page: a scanner (or an owner or manager) signs in, picks one of the
// events it may check tickets in at, and checks codes scanned with the
// camera or typed; the answer fills the screen in one colour per result.
// Locally a dev token with the staff role and an organization stands in for
// the staff sign-in.
import { h, api, session, signOut, signInForm, explain, clock, when, announce, loadConfig } from '/lib.js';

const $ = id => document.getElementById(id);
const me = () => session('staff');
const call = (path, o = {}) => api(path, { ...o, token: me()?.token });
const keys = { gate: 'stararena.gate.name', event: 'stararena.gate.event' };
let names = {};

const seat = r => r.seat ? `Seat ${r.seat}` : 'This ticket';
const verdicts = {
  ADMITTED: ['Admitted', r => `${seat(r)}. Let them in.`],
  ALREADY_USED: ['Already used', r => `${seat(r)} was admitted${r.firstScanAt ? ` at ${clock(r.firstScanAt)}` : ' earlier'}` +
    `${r.firstScanGate ? ` at gate ${r.firstScanGate}` : ''}. Do not admit: send them to the box office.`],
  REVOKED: ['Revoked', r => `${seat(r)}: this ticket was refunded. Do not admit.`],
  WRONG_EVENT: ['Wrong event', r => `This ticket is for another event (${names[r.eventId] || r.eventId}). Do not admit here.`],
  INVALID: ['Invalid', () => 'Not a StarArena ticket, or a code replaced by a newer one. Do not admit.'],
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

// loadEvents offers the events this account may check in at.
async function loadEvents() {
  $('events-problem').textContent = '';
  try {
    const { events } = await call('/admin/v1/checkin/events');
    names = Object.fromEntries(events.map(e => [e.eventId, e.name]));
    $('event').replaceChildren(...events.map(e => h('option', { value: e.eventId }, `${e.name} · ${when(e.startsAt)}`)));
    const saved = localStorage.getItem(keys.event);
    if (names[saved]) $('event').value = saved;
    if (!events.length) $('events-problem').textContent = 'No event is assigned to this account yet: ask an owner of your organization.';
  } catch (x) {
    if (x.code === 'UNAUTHORIZED') return expired();
    $('events-problem').textContent = x.status === 403
      ? 'This account may not check tickets in: ask an owner of your organization for the scanner role.' : explain(x);
  }
}

function expired() {
  signOut('staff');
  start();
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

async function check(code) {
  const eventId = $('event').value, gate = $('gate-name').value.trim();
  if (!code) return;
  if (!eventId) return show('ERROR', 'Choose an event', 'Pick the event this gate scans for first.');
  show('CHECKING', 'Checking…', '');
  try {
    const r = await call('/v1/checkin', { method: 'POST', body: { eventId, code, nonce: nonce(), gate } });
    const [word, why] = verdicts[r.result] || [r.result, () => ''];
    show(r.result, word, why(r));
    remember(word, r);
  } catch (x) {
    if (x.code === 'UNAUTHORIZED') expired();
    show('ERROR', 'Not checked', explain(x));
  }
}

$('scan').addEventListener('submit', async e => {
  e.preventDefault();
  const code = $('code').value.trim();
  $('code').value = '';
  await check(code);
  $('code').focus();
});
$('event').addEventListener('change', () => localStorage.setItem(keys.event, $('event').value));
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
