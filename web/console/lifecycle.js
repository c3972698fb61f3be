// An event's lifecycle in the console (ADR 20): cancel it (every paid order
// refunded, its tickets revoked, its buyer emailed), postpone it (a new date
// and a refund window), follow a cancellation's refunds, and raise or lower
// the event's bot check (ADR 22) and whether its gates accept printed ticket
// codes (ADR 28). The changes reach thousands of fans, so
// each asks first and says what will happen. Managers and owners only: the
// panel asks the cancellation route, which answers others 403, and shows
// them the state without the buttons. Loaded after the console works.
import { h, api, isStop, session, num, when, announce, explain } from '/lib.js';

const call = (path, o = {}) => api(path, { ...o, token: session('organizer')?.token });
const utc = v => new Date(v).toISOString().replace(/\.\d+Z$/, 'Z');
const local = t => { const d = new Date(t); d.setMinutes(d.getMinutes() - d.getTimezoneOffset()); return d.toISOString().slice(0, 16); };
// The states whose payment was captured: what a cancellation refunds.
const PAID = ['PAID', 'ISSUED', 'ISSUE_FAILED', 'REFUND_PENDING'];
const sagaWords = { REFUNDING: 'Refunding', NOTIFYING: 'Emailing buyers', DONE: 'Done' };

// lifecyclePanel is the event's state (cancelled, postponed) and, for
// managers, the cancel, postpone, bot-check and ticket-code controls; changed gets the
// event after either change.
export function lifecyclePanel(base, ev, s, changed) {
  const box = h('section', { 'aria-labelledby': 'life-h', id: 'lifecycle' });
  const status = h('div', { id: 'event-status' });
  // Redrawn every 3 s: not a live region; the end is announced.
  const progress = h('div', { id: 'cancel-progress' });
  const controls = h('div', {});
  box.append(h('h3', { id: 'life-h' }, 'Cancel, postpone, bot check, ticket codes'), status, progress, controls);

  const showStatus = () => status.replaceChildren(...(ev.cancelled
    ? [h('p', { class: 'notice error', 'data-event-state': 'cancelled' }, h('strong', {}, 'Cancelled'),
      ` ${when(ev.cancelled.at)} by ${ev.cancelled.by}: ${ev.cancelled.reason}`)]
    : ev.postponed
      ? [h('p', { class: 'notice', 'data-event-state': 'postponed' }, h('strong', {}, 'Postponed'),
        ` to ${when(ev.startsAt)} (was ${when(ev.postponed.from)}). Buyers may ask for a refund until ${when(ev.postponed.refundUntil)}.`)]
      : []));
  showStatus();

  // The progress of a cancellation: polled until done, so it survives a
  // reload (the console reads it again on load).
  let polling = false, done = false;
  async function follow() {
    let p;
    try { p = await call(`${base}/cancellation`, { signal: s.signal }); } catch (x) {
      if (!isStop(x)) progress.replaceChildren(h('p', { class: 'hint' }, `The refunds' progress did not load (${explain(x)}) — retrying.`));
      return;
    }
    const row = (k, v) => [h('div', { 'data-tile': k }, h('dt', {}, k), h('dd', {}, v))];
    progress.replaceChildren(...[h('h4', {}, 'Refunds'),
      h('p', { id: 'cancel-refunded', 'data-state': p.state }, h('strong', {}, p.passes ? `Refunded ${num(p.refunded)} of ${num(p.orders)}` : 'Refunds start with the next pass'),
        ` · ${sagaWords[p.state] || p.state}`),
      h('progress', { max: String(Math.max(1, p.orders)), value: String(p.orders ? p.refunded : 1), 'aria-label': 'Orders refunded' }),
      h('dl', { class: 'tiles' },
        ...row('Failing', num(p.failing)), ...row('Retries', num(p.retries)), ...row('Holds released', num(p.holdsReleased)),
        ...row('Buyers emailed', `${num(p.notified)} of ${num(p.orders)}`), ...row('Passes', num(p.passes))),
      p.lastErrorCode ? h('p', { class: 'error' }, `The last pass stopped on ${p.lastErrorCode}; the next one tries again.`) : null,
      h('p', { class: 'hint' }, p.state === 'DONE'
        ? `Finished ${when(p.finishedAt)}.`
        : `The refunds run in passes, one a minute${p.lastPassAt ? `; last pass ${when(p.lastPassAt)}` : ''}. This page updates by itself.`)].filter(Boolean));
    if (p.state === 'DONE' && polling && !done) announce(`Every order of ${ev.name} is refunded and its buyer told.`);
    done = p.state === 'DONE';
    if (!done && !polling) {
      polling = true;
      s.every(3000, () => { if (!done && !document.hidden) follow(); });
    }
  }

  // Whether the signer may act comes from the route itself: 403 for box
  // office and scanners, 404 (not cancelled) or the progress for managers.
  (async () => {
    try {
      await call(`${base}/cancellation`, { signal: s.signal });
    } catch (x) {
      if (isStop(x)) return;
      if (x.code === 'FORBIDDEN') return controls.replaceChildren(h('p', { class: 'hint' }, 'Only managers and owners cancel or postpone an event.'));
      if (x.code !== 'NOT_FOUND') return controls.replaceChildren(h('p', { class: 'error' }, explain(x)));
    }
    if (ev.cancelled) return follow();
    controls.replaceChildren(cancelForm(), postponeForm(), botForm(), codesForm());
  })();

  // paidOrders counts what a cancellation would refund, from the report.
  async function paidOrders() {
    const r = await call(`${base}/report`, { signal: s.signal });
    return PAID.reduce((n, k) => n + (r.ordersByStatus?.[k] || 0), 0);
  }

  function cancelForm() {
    const reason = h('input', { id: 'cancel-reason', maxlength: '200', required: true, 'aria-describedby': 'cancel-hint' });
    const msg = h('div', { role: 'status' });
    const form = h('form', { id: 'cancel-form', novalidate: true },
      h('h4', {}, 'Cancel the event'),
      h('p', { class: 'hint', id: 'cancel-hint' }, 'The sale closes at once and cannot reopen. Every paid order is refunded in full and its tickets stop working; each buyer is emailed with your reason.'),
      h('p', {}, h('label', { for: reason.id }, 'Reason (buyers read it)'), reason),
      h('p', {}, h('button', { type: 'submit', class: 'danger' }, 'Cancel event…')), msg);
    form.addEventListener('submit', async e => {
      e.preventDefault();
      const why = reason.value.trim();
      if (!why) { msg.replaceChildren(h('p', { class: 'error' }, 'Give a reason: the buyers are told it.')); return reason.focus(); }
      let n;
      try { n = await paidOrders(); } catch (x) { if (!isStop(x)) msg.replaceChildren(h('p', { class: 'error' }, explain(x))); return; }
      // The confirmation: the consequences in numbers, and the event's
      // name typed out, so a slip of the mouse cancels nothing.
      const typed = h('input', { id: 'cancel-confirm-name', autocomplete: 'off', spellcheck: 'false' });
      const go = h('button', { type: 'button', class: 'danger', id: 'cancel-confirm', disabled: true }, `Cancel ${ev.name} for good`);
      typed.addEventListener('input', () => { go.disabled = typed.value.trim() !== ev.name; });
      go.addEventListener('click', async () => {
        go.disabled = true;
        try {
          await call(`${base}/cancel`, { method: 'POST', body: { reason: why }, signal: s.signal });
          ev = await call(base, { signal: s.signal });
          changed?.(ev);
          announce(`${ev.name} is cancelled; the refunds have started.`);
          showStatus();
          controls.replaceChildren();
          follow();
        } catch (x) { if (!isStop(x)) { go.disabled = false; msg.append(h('p', { class: 'error' }, `Not cancelled: ${explain(x)}`)); } }
      });
      msg.replaceChildren(h('div', { class: 'notice error', role: 'alert', id: 'cancel-consequences' },
        h('p', {}, h('strong', {}, `Cancelling ${ev.name} will:`)),
        h('ul', {},
          h('li', {}, 'close the sale for good and release every unpaid hold;'),
          h('li', {}, `refund ${num(n)} paid order${n === 1 ? '' : 's'} in full and revoke ${n === 1 ? 'its tickets' : 'their tickets'};`),
          h('li', {}, `email ${n === 1 ? 'the buyer' : `the ${num(n)} buyers`} with your reason: “${why}”.`)),
        h('p', {}, 'This cannot be undone.'),
        h('p', {}, h('label', { for: typed.id }, `Type the event's name, ${ev.name}, to confirm`), typed),
        h('p', {}, go, ' ', h('button', { type: 'button', onclick: () => msg.replaceChildren() }, 'Keep the event'))));
      typed.focus();
    });
    return form;
  }

  function postponeForm() {
    const starts = h('input', { id: 'postpone-starts', type: 'datetime-local', required: true });
    const until = h('input', { id: 'postpone-until', type: 'datetime-local', required: true });
    starts.value = local(Date.parse(ev.startsAt) + 30 * 86400e3);
    until.value = local(Date.parse(ev.startsAt) + 15 * 86400e3);
    const msg = h('div', { role: 'status' });
    const form = h('form', { id: 'postpone-form', novalidate: true },
      h('h4', {}, 'Postpone the event'),
      h('p', { class: 'hint' }, 'Tickets stay valid for the new date. Until the refund deadline each buyer may ask for a refund on the site.'),
      h('p', {}, h('label', { for: starts.id }, 'New date (your time)'), starts),
      h('p', {}, h('label', { for: until.id }, 'Buyers may ask for a refund until (your time)'), until),
      h('p', {}, h('button', { type: 'submit' }, 'Postpone…')), msg);
    form.addEventListener('submit', async e => {
      e.preventDefault();
      const at = Date.parse(starts.value), by = Date.parse(until.value);
      if (!(at > Date.now())) { msg.replaceChildren(h('p', { class: 'error' }, 'Choose a new date in the future.')); return starts.focus(); }
      if (!(by > Date.now()) || by > at) { msg.replaceChildren(h('p', { class: 'error' }, 'The refund deadline must be in the future and no later than the new date.')); return until.focus(); }
      let n;
      try { n = await paidOrders(); } catch (x) { if (!isStop(x)) msg.replaceChildren(h('p', { class: 'error' }, explain(x))); return; }
      const go = h('button', { type: 'button', class: 'primary', id: 'postpone-confirm' }, `Move to ${when(at)}`);
      go.addEventListener('click', async () => {
        go.disabled = true;
        try {
          ev = await call(`${base}/postpone`, { method: 'POST', body: { startsAt: utc(at), refundUntil: utc(by) }, signal: s.signal });
          changed?.(ev);
          msg.replaceChildren(h('p', {}, `Postponed to ${when(ev.startsAt)}.`));
          announce(`${ev.name} is postponed to ${when(ev.startsAt)}.`);
          showStatus();
        } catch (x) { if (!isStop(x)) { go.disabled = false; msg.append(h('p', { class: 'error' }, `Not postponed: ${explain(x)}`)); } }
      });
      msg.replaceChildren(h('div', { class: 'notice', role: 'alert', id: 'postpone-consequences' },
        h('p', {}, h('strong', {}, `Postponing ${ev.name} will:`)),
        h('ul', {},
          h('li', {}, `move it from ${when(ev.startsAt)} to ${when(at)}; the ${num(n)} paid order${n === 1 ? '' : 's'} keep${n === 1 ? 's' : ''} valid tickets;`),
          h('li', {}, `email ${n === 1 ? 'the buyer' : `the ${num(n)} buyers`} the new date;`),
          h('li', {}, `let buyers ask for a full refund until ${when(by)}.`)),
        h('p', {}, go, ' ', h('button', { type: 'button', onclick: () => msg.replaceChildren() }, 'Keep the date'))));
      go.focus();
    });
    return form;
  }

  // botForm raises the event's joins to a CAPTCHA when bots are winning,
  // or lowers them to the challenge every join meets (ADR 22).
  function botForm() {
    const level = h('select', { id: 'bot-level' },
      h('option', { value: 'challenge' }, 'Challenge (every join, invisible to most fans)'),
      h('option', { value: 'captcha' }, 'CAPTCHA (every join solves a puzzle)'));
    const msg = h('span', { role: 'status', class: 'hint' });
    const form = h('form', { id: 'bot-form', class: 'row' }, h('label', { for: level.id }, 'Bot check '), level, ' ',
      h('button', { type: 'submit' }, 'Set bot check'), ' ', msg);
    form.addEventListener('submit', async e => {
      e.preventDefault();
      msg.textContent = 'Saving…';
      try {
        const r = await call(`${base}/bot-level`, { method: 'PUT', body: { level: level.value }, signal: s.signal });
        msg.textContent = `Joins now meet the ${r.level === 'captcha' ? 'CAPTCHA' : 'challenge'}; it takes effect at the edge within about a minute.`;
      } catch (x) { if (!isStop(x)) msg.textContent = `Not changed: ${explain(x)}`; }
    });
    return form;
  }

  // codesForm chooses whether the gates still accept the printable static
  // code or only the live code a fan's phone shows (ADR 28).
  function codesForm() {
    const mode = h('select', { id: 'ticket-codes' },
      h('option', { value: 'ROTATING_AND_PRINTABLE' }, 'Live code on the phone, or a printed ticket'),
      h('option', { value: 'ROTATING_ONLY' }, 'Live code on the phone only (screenshots and prints refused)'));
    mode.value = ev.ticketCodes || 'ROTATING_AND_PRINTABLE';
    const msg = h('span', { role: 'status', class: 'hint', id: 'ticket-codes-msg' });
    const form = h('form', { id: 'ticket-codes-form', class: 'row' }, h('label', { for: mode.id }, 'Gates accept '), mode, ' ',
      h('button', { type: 'submit' }, 'Set ticket codes'), ' ', msg);
    form.addEventListener('submit', async e => {
      e.preventDefault();
      msg.textContent = 'Saving…';
      try {
        const r = await call(`${base}/ticket-codes`, { method: 'PUT', body: { mode: mode.value }, signal: s.signal });
        ev.ticketCodes = r.ticketCodes;
        msg.textContent = r.ticketCodes === 'ROTATING_ONLY'
          ? 'Gates now accept only the live code; fans can no longer print their tickets. Offline gates learn it within a minute.'
          : 'Gates now accept the live code and printed tickets.';
      } catch (x) { if (!isStop(x)) msg.textContent = `Not changed: ${explain(x)}`; }
    });
    return form;
  }
  return box;
}
