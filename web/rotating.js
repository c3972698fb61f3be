// The ticket as its owner shows it at the door (ADR 28): a QR code that
// changes every 30 seconds, made on this phone from the ticket's rotation
// secret, with a countdown to the next one. A screenshot of it stops
// admitting within a minute. When the organizer allows printing, a print
// view shows the static code instead.
import { h } from './lib.js';
import { drawQR } from './qr.js';

const b64url = b => btoa(String.fromCharCode(...b)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
const unb64 = t => Uint8Array.from(atob(t.replace(/-/g, '+').replace(/_/g, '/')), c => c.charCodeAt(0));

// rotatingCode is the code for step: R2 + the static code without its T2
// tag + .step + .mac (internal/tickets/rotating.go has the format).
export async function rotatingCode(key, code, step) {
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(`R2.${step}`)));
  return `R2${code.slice(2)}.${step}.${b64url(mac.slice(0, 12))}`;
}

// ticketCard is one ticket of an order: the live code when the ticket has
// a rotation secret and this browser can make codes, else the static one.
// scope owns the timers (they stop when the view changes).
export function ticketCard(t, seatText, scope) {
  const status = t.status && t.status !== 'VALID' ? h('p', { class: 'error' }, `This ticket is ${t.status.toLowerCase()}.`) : null;
  const id = h('p', { class: 'hint' }, `Ticket ${t.ticketId}`);
  const li = h('li', { class: 'ticket' });
  const staticQR = () => t.qr ? h('img', { src: t.qr, alt: `QR code for ${seatText}`, width: '240', height: '240' }) : null;
  if (!t.code || !t.rotation || !crypto.subtle) {
    li.append(...[staticQR(), h('p', { class: 'ticket-seat' }, seatText), status, id].filter(Boolean));
    return li;
  }
  const canvas = h('canvas', { class: 'ticket-qr', role: 'img', 'aria-label': `Live QR code for ${seatText}`, 'data-ticket': t.ticketId });
  const left = h('span', { class: 'ticket-countdown', 'aria-live': 'off' });
  const note = h('p', { class: 'hint' }, 'Live code: it changes every ', String(t.rotation.stepSeconds), ' seconds, so a screenshot will not get in. Next code in ', left, ' s.');
  li.append(canvas, h('p', { class: 'ticket-seat' }, seatText), ...[status].filter(Boolean), note, printPart(t, seatText, staticQR), id);

  const period = t.rotation.stepSeconds * 1000;
  let key = null, shown = -1;
  const tick = async () => {
    const now = Date.now(), step = Math.floor(now / period);
    left.textContent = String(Math.ceil((period - now % period) / 1000));
    if (step === shown) return;
    shown = step;
    key ??= await crypto.subtle.importKey('raw', unb64(t.rotation.secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    const code = await rotatingCode(key, t.code, step);
    drawQR(canvas, code, 5);
    canvas.dataset.step = String(step);
  };
  tick();
  scope.every(1000, tick);
  return li;
}

// printPart offers the static code for printing when the organizer accepts
// it at the gates, and says so when it does not.
function printPart(t, seatText, staticQR) {
  if (!t.rotation.printable) {
    return h('p', { class: 'hint ticket-noprint' }, 'This event admits with the live code on your phone only: it cannot be printed.');
  }
  const box = h('div', { class: 'ticket-print', hidden: true },
    h('p', {}, `Printable ticket · ${seatText}`), staticQR(),
    h('p', { class: 'hint' }, 'This code does not change: keep it private, as anyone holding a copy can use it first.'),
    h('button', { type: 'button', onclick: () => print() }, 'Print'));
  const btn = h('button', { type: 'button', class: 'link', onclick: () => {
    box.hidden = !box.hidden;
    btn.textContent = box.hidden ? 'Printable ticket' : 'Hide the printable ticket';
  } }, 'Printable ticket');
  return h('div', {}, btn, box);
}
