// The seat management panel (ADR 30): pick seats by id or by a range of a
// section's rows, then kill them, hold them back, release them or mark
// them wheelchair or companion seats; see what each section has off sale.
// Loaded after the page works: most visits run a sale and never touch it.
import { h, num, announce, explain, isStop } from '/lib.js';

const actions = [
  ['hold-back', 'Hold back'], ['release', 'Release'], ['kill', 'Kill'],
];
const marks = [['wheelchair', 'Mark wheelchair'], ['companion', 'Mark companion'], ['none', 'Clear mark']];

// seatPanel returns the panel for the event at base (its admin path);
// call is the console's authorized fetch, s the view's scope.
export function seatPanel(base, ev, s, call) {
  const reserved = ev.sections.filter(x => x.kind === 'reserved');
  if (!reserved.length) return h('section', {}, h('h3', {}, 'Seats'), h('p', { class: 'hint' }, 'This event has no numbered seats.'));
  const ids = h('input', { id: 'seats-ids', size: '40', placeholder: 'A-1-1 A-1-2', 'aria-describedby': 'seats-help' });
  const section = h('select', { id: 'seats-section' }, h('option', { value: '' }, '—'), ...reserved.map(x => h('option', { value: x.id }, `${x.id} ${x.name}`)));
  const fromRow = h('input', { id: 'seats-from-row', size: '4' });
  const toRow = h('input', { id: 'seats-to-row', size: '4' });
  const fromSeat = h('input', { id: 'seats-from-seat', type: 'number', min: '1', size: '4' });
  const toSeat = h('input', { id: 'seats-to-seat', type: 'number', min: '1', size: '4' });
  const compTo = h('input', { id: 'comp-to', size: '24', maxlength: '254', placeholder: 'guest@example.com' });
  const compQty = h('input', { id: 'comp-qty', type: 'number', min: '1', max: '50', size: '4' });
  const msg = h('p', { role: 'status', id: 'seats-msg' });
  const refused = h('ul', { id: 'seats-refused' });
  const rows = h('tbody', { id: 'seats-summary' });

  function selection() {
    const list = ids.value.split(/[\s,]+/).filter(Boolean);
    if (list.length) return { seats: list };
    if (!section.value) return null;
    const sel = { section: section.value };
    if (fromRow.value.trim()) sel.fromRow = fromRow.value.trim();
    if (toRow.value.trim()) sel.toRow = toRow.value.trim();
    if (fromSeat.value) sel.fromSeat = Number(fromSeat.value);
    if (toSeat.value) sel.toSeat = Number(toSeat.value);
    return sel;
  }
  function show(sum) {
    rows.replaceChildren(...sum.sections.map(x => h('tr', { 'data-section': x.section },
      h('th', { scope: 'row' }, x.section), h('td', {}, num(x.available)), h('td', { 'data-count': 'killed' }, num(x.killed)),
      h('td', { 'data-count': 'held-back' }, num(x.heldBack)), h('td', { 'data-count': 'comps' }, num(x.comps || 0)),
      h('td', { 'data-count': 'wheelchair' }, num(x.wheelchair.length)), h('td', {}, num(x.companion.length)))));
  }
  async function load() {
    try { show(await call(`${base}/seats`, { signal: s.signal })); } catch (x) {
      if (!isStop(x)) msg.textContent = `The seat summary did not load (${explain(x)}).`;
    }
  }
  async function act(path, body, label) {
    const sel = selection();
    if (!sel) { msg.textContent = 'Give seat ids, or choose a section (and rows or seats).'; return ids.focus(); }
    msg.textContent = `${label}…`;
    refused.replaceChildren();
    try {
      const r = await call(`${base}/seats/${path}`, { method: 'POST', signal: s.signal, body: { ...sel, ...body } });
      if (r.sections) { show(r); msg.textContent = `${label}: done.`; return announce(msg.textContent); }
      msg.textContent = `${label}: ${num(r.changed.length)} changed, ${num(r.unchanged.length)} already so, ${num(r.refused.length)} refused.`;
      refused.replaceChildren(...r.refused.map(f => h('li', {}, `${f.seat}: ${f.reason}`)));
      announce(msg.textContent);
      load();
    } catch (x) { if (!isStop(x)) msg.textContent = `${label} failed: ${explain(x)}`; }
  }
  // A comp takes the seat ids, or a quantity of the chosen section
  // (held-back seats first).
  async function comp() {
    const list = ids.value.split(/[\s,]+/).filter(Boolean);
    const sel = list.length ? { seats: list } : section.value && compQty.value ? { section: section.value, quantity: Number(compQty.value) } : null;
    if (!sel) { msg.textContent = 'Give seat ids, or choose a section and how many comps.'; return ids.focus(); }
    if (!compTo.value.trim()) { msg.textContent = 'Who are the comps for? Give an email address or an account.'; return compTo.focus(); }
    msg.textContent = 'Issuing comps…';
    refused.replaceChildren();
    try {
      const r = await call(`${base}/comps`, { method: 'POST', signal: s.signal, body: { ...sel, to: compTo.value.trim() } });
      msg.textContent = `${num(r.tickets)} comp tickets issued to ${r.to}: ${r.seats.join(', ')}.`;
      announce(msg.textContent);
      load();
    } catch (x) {
      if (isStop(x)) return;
      msg.textContent = `Comps not issued: ${explain(x)}`;
      if (x.details?.seats) refused.replaceChildren(...x.details.seats.map(id => h('li', {}, `${id}: held, sold or killed`)));
    }
  }
  const buttons = [
    ...actions.map(([path, label]) => h('button', { type: 'button', 'data-action': path, onclick: () => act(path, {}, label) }, label)),
    ...marks.map(([mark, label]) => h('button', { type: 'button', class: 'secondary', 'data-mark': mark, onclick: () => act('accessibility', { mark }, label) }, label)),
  ];
  load();
  s.every(5000, () => { if (!document.hidden) load(); });
  return h('section', { 'aria-labelledby': 'seats-h', id: 'seat-management' }, h('h3', { id: 'seats-h' }, 'Seats'),
    h('p', { class: 'hint', id: 'seats-help' }, 'Kill seats that are never sold (cameras, the mixing desk), hold seats back until you release them, and mark wheelchair spaces and companion seats. A seat a fan holds or bought is never changed: it is listed as refused.'),
    h('p', { class: 'row' }, h('label', { for: ids.id }, 'Seat ids '), ids),
    h('p', { class: 'row' }, 'Or a range: ', h('label', { for: section.id }, 'section '), section, ' ', h('label', { for: fromRow.id }, 'rows '), fromRow,
      ' ', h('label', { for: toRow.id }, 'to '), toRow, ' ', h('label', { for: fromSeat.id }, 'seats '), fromSeat, ' ', h('label', { for: toSeat.id }, 'to '), toSeat),
    h('div', { class: 'controls', role: 'group', 'aria-label': 'Seat actions' }, ...buttons),
    h('p', { class: 'row' }, h('label', { for: compTo.id }, 'Comps for '), compTo, ' ', h('label', { for: compQty.id }, 'how many (with a section) '), compQty, ' ',
      h('button', { type: 'button', id: 'comp-issue', onclick: comp }, 'Issue comps')),
    msg, refused,
    // Seven columns do not fit a phone: the table scrolls, not the page.
    h('div', { class: 'scroll-x' }, h('table', {}, h('caption', {}, 'Seats off sale and marked, by section'),
      h('thead', {}, h('tr', {}, ...['Section', 'On sale', 'Killed', 'Held back', 'Comps', 'Wheelchair', 'Companion'].map(c => h('th', { scope: 'col' }, c)))), rows)));
}
