// Organizer console: create an event from a venue map, open/pause/close the
// sale, retune the admission rate, watch a live report with a chart of
// sales drawn from samples the page keeps, grant the team its roles and
// read the audit log. Locally a dev token with the organizer role stands in
// for the staff sign-in.
import { h, api, enc, newScope, isStop, session, signOut, signInForm, money, minorDigits, num, when, clock,
  announce, explain, loadConfig } from '/lib.js';
// Fees, tax, the revenue split and the order lookup load after the page
// works: most visits run a sale and never touch them.
const moneyUI = import('./money.js');
let moneyMod = null;
moneyUI.then(m => { moneyMod = m; });

const $ = id => document.getElementById(id);
const org = () => session('organizer');
const call = (path, o = {}) => api(path, { ...o, token: org()?.token });

function start() {
  const s = org();
  $('who').replaceChildren(...(s ? [h('span', {}, `Organizer ${s.sub}`), ' ',
    h('button', { type: 'button', class: 'link', onclick: () => { signOut('organizer'); location.reload(); } }, 'Sign out')] : []));
  if (!s) {
    $('signin').replaceChildren(signInForm('organizer', 'Sign in as an organizer to create events and run sales.', start));
    return;
  }
  $('signin').replaceChildren();
  $('app').hidden = false;
  loadEvents(new URLSearchParams(location.search).get('event'));
  team();
}

// ------------------------------------------------------------ team and audit

// team shows the organization's people and audit log: owners only; anyone
// else is told so.
async function team() {
  const cell = v => h('td', {}, v || '');
  try {
    const [st, au] = await Promise.all([call('/admin/v1/staff'), call('/admin/v1/audit')]);
    $('team').replaceChildren(...st.staff.map(g => h('tr', {}, cell(g.subject), cell(g.role), cell((g.events || []).join(', ')),
      h('td', {}, h('button', { type: 'button', class: 'link', onclick: () => change(`/admin/v1/staff/${enc(g.subject)}`, 'DELETE', undefined, `Revoked ${g.subject}.`) }, `Revoke ${g.subject}`)))));
    if (!st.staff.length) $('team').append(h('tr', {}, h('td', { colspan: '4' }, 'Nobody else yet.')));
    $('audit').replaceChildren(...au.entries.map(e => h('tr', {}, cell(when(e.at)), cell(`${e.actor} (${e.role})`),
      cell([e.action, e.detail].filter(Boolean).join(': ')), cell(e.orderId || e.eventId))));
  } catch (x) {
    $('team-result').textContent = `Only owners see the team and the audit log (${explain(x)}).`;
  }
}

async function change(path, method, body, done) {
  try { await call(path, { method, body }); $('team-result').textContent = done; announce(done); } catch (x) {
    $('team-result').textContent = explain(x);
  }
  team();
}

$('grant').addEventListener('submit', e => {
  e.preventDefault();
  const subject = $('grant-sub').value.trim(), role = $('grant-role').value;
  const events = role === 'scanner' && $('event').value ? [$('event').value] : undefined;
  change('/admin/v1/staff', 'POST', { subject, role, events }, `${subject} is now ${role}.`);
});

// ------------------------------------------------------------ venue map

// csvCells splits one CSV line, honouring double quotes.
function csvCells(line) {
  const out = [];
  let cur = '', q = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (q) {
      if (c === '"' && line[i + 1] === '"') { cur += '"'; i++; } else if (c === '"') q = false; else cur += c;
    } else if (c === '"') q = true;
    else if (c === ',') { out.push(cur.trim()); cur = ''; } else cur += c;
  }
  out.push(cur.trim());
  return out;
}

function expandRows(spec) {
  let m = /^(\d+)\s*-\s*(\d+)$/.exec(spec);
  if (m && +m[1] <= +m[2]) return Array.from({ length: +m[2] - +m[1] + 1 }, (_, i) => String(+m[1] + i));
  m = /^([A-Z])\s*-\s*([A-Z])$/.exec(spec);
  if (m && m[1] <= m[2]) return Array.from({ length: m[2].charCodeAt(0) - m[1].charCodeAt(0) + 1 }, (_, i) => String.fromCharCode(m[1].charCodeAt(0) + i));
  return spec.split(/\s+/);
}

// A section's place on the venue map (ADR 27), as one CSV cell:
// "arc inner outer from to" or "polygon x1 y1 x2 y2 x3 y3 …".
function parseShape(t) {
  const [kind, ...v] = t.split(/\s+/);
  const n = v.map(Number);
  if (n.some(x => !Number.isFinite(x))) return null;
  if (kind === 'arc' && n.length === 4) return { arc: { inner: n[0], outer: n[1], from: n[2], to: n[3] } };
  if (kind === 'polygon' && n.length >= 6 && n.length % 2 === 0) return { polygon: n.filter((_, i) => i % 2 === 0).map((x, i) => [x, n[2 * i + 1]]) };
  return null;
}
const shapeText = s => s.arc ? `arc ${s.arc.inner} ${s.arc.outer} ${s.arc.from} ${s.arc.to}` : `polygon ${s.polygon.flat().join(' ')}`;

// parseVenue reads the CSV venue map into the API's sections.
export function parseVenue(text) {
  const sections = [], byId = {}, errors = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const c = csvCells(line);
    if (/^section$/i.test(c[0])) return; // the header
    const err = m => errors.push(`Line ${i + 1}: ${m}`);
    if (c.length !== 6 && c.length !== 7) return err('expected 6 or 7 values: section,name,price,currency,rows,seats[,shape]');
    const [id, name, price, currency, rows, seats, shape] = c;
    if (!/^[A-Za-z0-9]{1,16}$/.test(id)) return err('the section id must be 1-16 letters or digits');
    let digits;
    try { digits = minorDigits(currency); } catch { return err(`"${currency}" is not a currency code`); }
    const cents = Math.round(Number(price) * 10 ** digits);
    if (!/^\d+(\.\d+)?$/.test(price) || !(cents >= 0)) return err('the price must be a number such as 45.00');
    const n = Number(seats);
    if (!Number.isInteger(n) || n < 1) return err('seats must be a whole number above 0');
    let s = byId[id];
    if (!s) sections.push(s = byId[id] = { id, name: name || id, priceCents: cents, currency });
    if (shape) {
      s.shape = parseShape(shape);
      if (!s.shape) return err('the shape must be "arc inner outer from to" or "polygon x1 y1 x2 y2 x3 y3 …"');
    }
    if (!rows) {
      if (s.rows) return err(`section ${id} has rows, so it cannot also be standing`);
      s.capacity = (s.capacity || 0) + n;
    } else {
      if (s.capacity) return err(`section ${id} is standing, so it cannot also have rows`);
      s.rows ??= [];
      for (const r of expandRows(rows)) s.rows.push({ id: r, seats: n });
    }
  });
  if (!sections.length && !errors.length) errors.push('Add at least one section.');
  return { sections, errors };
}

// toCSV writes sections back as venue-map lines (consecutive numbered rows
// of the same size become one range).
function toCSV(sections) {
  const q = v => /[",]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
  const lines = [`section,name,price,currency,rows,seats${sections.some(s => s.shape) ? ',shape' : ''}`];
  for (const s of sections) {
    const price = (s.priceCents / 10 ** minorDigits(s.currency)).toFixed(minorDigits(s.currency));
    const head = [s.id, q(s.name || s.id), price, s.currency].join(',');
    const first = lines.length; // the section's first line carries its shape
    if (!s.rows) lines.push(`${head},,${s.capacity}`);
    for (let i = 0; i < (s.rows || []).length;) {
      let j = i;
      while (j + 1 < s.rows.length && s.rows[j + 1].seats === s.rows[i].seats && /^\d+$/.test(s.rows[j].id) && +s.rows[j + 1].id === +s.rows[j].id + 1) j++;
      lines.push(`${head},${j > i ? `${s.rows[i].id}-${s.rows[j].id}` : s.rows[i].id},${s.rows[i].seats}`);
      i = j + 1;
    }
    if (s.shape) lines[first] += `,${shapeText(s.shape)}`;
  }
  return lines.join('\n');
}

function summarizeVenue() {
  const { sections, errors } = parseVenue($('venueMap').value);
  const seated = sections.reduce((n, s) => n + (s.rows || []).reduce((m, r) => m + r.seats, 0), 0);
  const standing = sections.reduce((n, s) => n + (s.capacity || 0), 0);
  $('venue-summary').textContent = errors.length ? errors.join(' ')
    : `${sections.length} section${sections.length === 1 ? '' : 's'} · ${num(seated + standing)} places (${num(seated)} seated, ${num(standing)} standing).`;
  $('venue-summary').classList.toggle('error', errors.length > 0);
  $('venueMap').setAttribute('aria-invalid', String(errors.length > 0));
}

// Local time for a datetime-local input, and back to RFC 3339 UTC.
const localInput = t => { const d = new Date(t); d.setMinutes(d.getMinutes() - d.getTimezoneOffset()); return d.toISOString().slice(0, 19); };
const utc = v => new Date(v).toISOString().replace(/\.\d+Z$/, 'Z');

function setupCreate() {
  let pricingBody = () => undefined;
  moneyUI.then(m => { pricingBody = m.createPricing($('create-pricing')); });
  const day = new Date(Date.now() + 30 * 86400e3);
  day.setHours(20, 0, 0, 0);
  $('startsAt').value = localInput(day);
  $('saleOpensAt').value = localInput(Math.ceil((Date.now() + 10 * 60e3) / 60e3) * 60e3);
  $('venueMap').addEventListener('input', summarizeVenue);
  summarizeVenue();
  // The form starts filled in as an example: creating it untouched makes a
  // real event with a sale, so that asks first.
  // The example as the page drew it; the fee panel loads later (after the
  // console works) and is untouched while it charges nothing.
  const valueOf = e => e.type === 'radio' || e.type === 'checkbox' ? e.checked : e.value;
  const example = new Map([...$('create').elements].map(e => [e, valueOf(e)]));
  const untouched = () => [...example].every(([e, v]) => valueOf(e) === v) && pricingBody('EUR') === undefined;
  $('upload').addEventListener('change', async e => {
    const f = e.target.files[0];
    if (!f) return;
    const text = await f.text();
    try {
      if (/\.json$/i.test(f.name) || text.trim().startsWith('{') || text.trim().startsWith('[')) {
        const j = JSON.parse(text);
        const ev = Array.isArray(j) ? { sections: j } : j;
        if (ev.name) $('name').value = ev.name;
        if (ev.venue) $('venue').value = ev.venue;
        if (ev.startsAt) $('startsAt').value = localInput(ev.startsAt);
        if (ev.saleOpensAt) $('saleOpensAt').value = localInput(ev.saleOpensAt);
        if (ev.holdSeconds) $('holdMinutes').value = Math.max(1, Math.round(ev.holdSeconds / 60));
        if (ev.maxTicketsPerAccount) $('maxTickets').value = ev.maxTicketsPerAccount;
        if (ev.queue?.mode) $(ev.queue.mode === 'off' ? 'queueOff' : 'queueOn').checked = true;
        if (ev.queue?.admitPerMinute) $('admitPerMinute').value = ev.queue.admitPerMinute;
        $('venueMap').value = toCSV(ev.sections || []);
      } else $('venueMap').value = text.trim();
      summarizeVenue();
      announce(`Loaded ${f.name}.`);
    } catch (x) {
      $('venue-summary').textContent = `${f.name} could not be read: ${x.message}`;
    }
  });
  $('create').addEventListener('submit', async e => {
    e.preventDefault();
    const out = $('create-result');
    const form = e.target;
    const bad = [...form.querySelectorAll('input')].find(i => !i.checkValidity());
    const { sections, errors } = parseVenue($('venueMap').value);
    if (bad || errors.length) {
      out.replaceChildren(h('p', { class: 'error' }, bad ? `Please check "${form.querySelector(`label[for="${bad.id}"]`)?.textContent}": ${bad.validationMessage}` : `The venue map has problems: ${errors.join(' ')}`));
      (bad || $('venueMap')).focus();
      return;
    }
    if (untouched() && !confirm(`Create the example event “${$('name').value}” as it is? Its sale opens at the time shown and fans can buy.`)) return;
    const body = {
      name: $('name').value.trim(), venue: $('venue').value.trim(),
      startsAt: utc($('startsAt').value), saleOpensAt: utc($('saleOpensAt').value),
      holdSeconds: Math.round(Number($('holdMinutes').value) * 60), maxTicketsPerAccount: Number($('maxTickets').value),
      queue: { mode: form.queue.value, admitPerMinute: Number($('admitPerMinute').value) },
      sections,
      pricing: pricingBody(sections[0]?.currency || 'EUR'),
    };
    const btn = form.querySelector('button[type=submit]');
    btn.disabled = true;
    try {
      const ev = await call('/admin/v1/events', { method: 'POST', body });
      remember(ev);
      out.replaceChildren(h('p', { class: 'ok' }, `Created “${ev.name}” (${ev.eventId}), ${num(ev.capacity)} places. `,
        h('a', { href: `/?event=${enc(ev.eventId)}`, target: '_blank', rel: 'noopener' }, 'Open the fan page')));
      await loadEvents(ev.eventId);
      team();
      $('manage-h').scrollIntoView({ block: 'start' });
    } catch (x) {
      out.replaceChildren(h('p', { class: 'error' }, x.code === 'UNAUTHORIZED' ? explain(x) : `The event was not created: ${x.message}`));
    } finally { btn.disabled = false; }
  });
}

// ------------------------------------------------------------ events

const known = () => JSON.parse(sessionStorage.getItem('stararena.console.events') || '{}');
function remember(ev) {
  const k = known();
  k[ev.eventId] = ev.name;
  sessionStorage.setItem('stararena.console.events', JSON.stringify(k));
}

async function loadEvents(selected) {
  const sel = $('event');
  const names = known();
  try {
    for (const ev of (await call('/admin/v1/events')).events) names[ev.eventId] ??= ev.name;
  } catch { /* the list is a convenience; created events are remembered */ }
  sel.replaceChildren(h('option', { value: '' }, 'Choose an event'),
    ...Object.entries(names).map(([id, name]) => h('option', { value: id }, `${name} (${id})`)));
  sel.onchange = () => manage(sel.value);
  if (selected && names[selected]) sel.value = selected;
  manage(sel.value);
}

// ------------------------------------------------------------ one sale

let scope = newScope();
const saleWords = { SCHEDULED: 'Scheduled', PRESALE: 'Presale (codes only)', OPEN: 'On sale', PAUSED: 'Paused', CLOSED: 'Closed', CANCELLED: 'Cancelled' };

async function manage(id) {
  scope.stop();
  scope = newScope();
  const s = scope;
  const root = $('manage');
  history.replaceState(null, '', id ? `?event=${enc(id)}` : location.pathname);
  if (!id) return root.replaceChildren(h('p', {}, 'Choose an event to run its sale and see its report.'));
  root.replaceChildren(h('p', {}, 'Loading…'));
  let ev;
  try { ev = await call(`/admin/v1/events/${enc(id)}`, { signal: s.signal }); } catch (x) {
    if (!isStop(x)) root.replaceChildren(h('p', { class: 'error', role: 'alert' }, explain(x)));
    return;
  }
  const base = `/admin/v1/events/${enc(id)}`;
  const state = h('strong', { id: 'sale-state' });
  const saleMsg = h('p', { role: 'status', class: 'hint' });
  const rate = h('input', { id: 'rate', type: 'number', min: '1', max: '18000', value: String(ev.queue.admitPerMinute) });
  const buttons = {
    open: h('button', { type: 'button', class: 'primary' }, 'Open sale now'),
    pause: h('button', { type: 'button' }, 'Pause sale'),
    close: h('button', { type: 'button', class: 'danger' }, 'Close sale for good'),
  };
  const showSale = () => {
    // A scheduled sale enters its presale and opens by itself.
    const sched = ev.saleState === 'SCHEDULED' || ev.saleState === 'PRESALE';
    const st = !sched ? ev.saleState : Date.now() >= Date.parse(ev.saleOpensAt) ? 'OPEN'
      : ev.presale && Date.now() >= Date.parse(ev.presale.opensAt) ? 'PRESALE' : 'SCHEDULED';
    state.textContent = saleWords[st] || st;
    if (st === 'CANCELLED') return Object.values(buttons).concat(rateBtn).forEach(b => { b.disabled = true; });
    buttons.open.disabled = st === 'OPEN' || st === 'CLOSED';
    buttons.open.textContent = st === 'PAUSED' ? 'Resume sale' : 'Open sale now';
    buttons.pause.disabled = st === 'PAUSED' || st === 'CLOSED';
    buttons.close.disabled = st === 'CLOSED';
    rateBtn.disabled = st === 'CLOSED' || sched && st !== 'OPEN';
    rateHint.textContent = sched && st !== 'OPEN' ? 'The rate set here is applied when you open the sale (the API changes it together with open or pause).' : '';
  };
  async function sale(body, done) {
    saleMsg.textContent = 'Sending…';
    try {
      ev = await call(`${base}/sale`, { method: 'POST', body, signal: s.signal });
      showSale();
      saleMsg.textContent = `${done} at ${clock(Date.now())}.`;
      report();
      team();
    } catch (x) { if (!isStop(x)) saleMsg.textContent = `Not changed: ${x.message}`; }
  }
  const rateValue = () => { const n = Number(rate.value); return Number.isInteger(n) && n >= 1 && n <= 18000 ? n : null; };
  buttons.open.onclick = () => sale({ action: 'open', admitPerMinute: ev.queue.mode === 'on' ? rateValue() ?? undefined : undefined }, 'Sale opened');
  buttons.pause.onclick = () => sale({ action: 'pause' }, 'Sale paused');
  buttons.close.onclick = () => confirm('Close this sale for good? A closed sale cannot be reopened.') && sale({ action: 'close' }, 'Sale closed');
  const rateHint = h('span', { class: 'hint', id: 'rate-hint' });
  rate.setAttribute('aria-describedby', 'rate-hint');
  const rateBtn = h('button', { type: 'submit' }, 'Set rate');
  const rateForm = h('form', { class: 'row' }, h('label', { for: 'rate' }, 'Admission rate (fans per minute) '), rate, ' ', rateBtn, ' ', rateHint);
  // Retuning repeats the current action (open or pause) with the new rate.
  rateForm.onsubmit = e => {
    e.preventDefault();
    const n = rateValue();
    if (!n) { saleMsg.textContent = 'The admission rate must be a whole number from 1 to 18,000 per minute.'; return rate.focus(); }
    sale({ action: ev.saleState === 'PAUSED' ? 'pause' : 'open', admitPerMinute: n }, `Admission rate set to ${num(n)} per minute`);
  };
  const tiles = h('dl', { class: 'tiles' });
  const moneyBox = h('div', {});
  moneyUI.then(m => { if (!s.signal.aborted) moneyBox.replaceChildren(m.pricingPanel(base, ev, s), m.orderLookup(s)); });
  const lifeBox = h('div', {});
  import('./lifecycle.js').then(m => { if (!s.signal.aborted) lifeBox.replaceChildren(m.lifecyclePanel(base, ev, s, next => { Object.assign(ev, next); showSale(); })); });
  const byStatus = h('tbody', { id: 'orders-by-state' });
  const recon = h('p', {});
  const updated = h('p', { class: 'hint' }); // not live: it changes every 3 s
  const chartBox = h('div', { class: 'chart' });
  const fanLink = h('a', { href: `/?event=${enc(id)}`, target: '_blank', rel: 'noopener', id: 'fan-link' }, 'Open the fan page');
  // replaceChildren writes a null as the text "null": leave absent parts out.
  root.replaceChildren(...[
    h('h3', {}, ev.name),
    h('p', {}, `${ev.venue} · ${when(ev.startsAt)} · sale opens ${when(ev.saleOpensAt)} · queue ${ev.queue.mode} · `, fanLink),
    h('div', { class: 'controls', role: 'group', 'aria-label': 'Sale' }, h('p', {}, 'Sale: ', state), buttons.open, buttons.pause, buttons.close),
    ev.queue.mode === 'on' ? rateForm : null, saleMsg,
    lifeBox,
    presalePanel(base, ev, s),
    moneyBox,
    waitlistPanel(base, s),
    h('h3', {}, 'Live report'), updated, tiles,
    h('figure', {}, chartBox, h('figcaption', {}, 'Tickets sold and held over time, sampled while this page is open.')),
    h('div', { class: 'cols' },
      h('table', {}, h('caption', {}, 'Orders by state'), h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'State'), h('th', { scope: 'col' }, 'Orders'))), byStatus),
      h('div', {}, h('h4', {}, 'Last reconciliation'), recon, h('button', { type: 'button', onclick: reconcile }, 'Reconcile now')))].filter(Boolean));
  showSale();

  const sampleKey = `stararena.samples.${id}`;
  let samples = JSON.parse(sessionStorage.getItem(sampleKey) || '[]');
  async function reconcile(e) {
    e.target.disabled = true;
    try { await call('/admin/v1/reconcile', { method: 'POST', body: { eventId: id }, signal: s.signal }); await report(); } catch (x) {
      if (!isStop(x)) recon.textContent = `Reconciliation failed: ${x.message}`;
    } finally { e.target.disabled = false; }
  }
  async function report() {
    let r;
    try { r = await call(`${base}/report`, { signal: s.signal }); } catch (x) {
      if (!isStop(x)) updated.textContent = `The report did not load (${explain(x)}) — retrying.`;
      return;
    }
    const q = r.queue || {};
    const inQueue = Math.max(0, (q.joined || 0) - (q.served || 0));
    const effective = Math.round((q.admitPerMinute || 0) * (q.rateMultiplier || 1));
    const t = (label, value, note) => [h('div', { 'data-tile': label }, h('dt', {}, label), h('dd', {}, value, note ? h('span', { class: 'hint' }, ` ${note}`) : null))];
    tiles.replaceChildren(
      ...t('Sold', num(r.sold)), ...t('Held', num(r.held)), ...t('Available', num(r.available), `of ${num(r.capacity)}`),
      ...t('Revenue', money(r.revenueCents, r.currency || ev.currency), moneyMod?.revenueNote(r, r.currency || ev.currency)),
      ...(q.mode === 'on' ? [
        ...t('In queue', num(inQueue), `${num(q.joined || 0)} joined`),
        ...t('Serving position', num(q.servingPosition || 0)),
        ...t('Admitted', num(q.admitted || 0), `${num(q.used || 0)} used · ${num(q.abandoned || 0)} abandoned`),
        ...t('Admission rate', `${num(effective)}/min`, effective !== q.admitPerMinute ? `set ${num(q.admitPerMinute)}/min, slowed: ${q.health || 'recovering'}` : 'as set'),
      ] : [...t('Queue', 'off')]));
    byStatus.replaceChildren(...Object.entries(r.ordersByStatus || {}).sort().map(([k, v]) => h('tr', {}, h('th', { scope: 'row' }, k), h('td', {}, num(v)))));
    if (!byStatus.children.length) byStatus.append(h('tr', {}, h('td', { colspan: '2' }, 'No orders yet.')));
    const lr = r.lastReconcile;
    recon.textContent = lr ? `${when(lr.finishedAt || lr.startedAt)}: checked ${num(lr.checked?.orders || 0)} orders, found ${num(lr.found || 0)}, repaired ${num(lr.repaired || 0)}${lr.needsHuman ? `, ${num(lr.needsHuman)} need a person` : ''}.` : 'Not run yet for this event.';
    samples.push({ t: Date.now(), sold: r.sold, held: r.held });
    if (samples.length > 720) samples = samples.slice(-720);
    sessionStorage.setItem(sampleKey, JSON.stringify(samples));
    chartBox.replaceChildren(chart(samples, chartBox.clientWidth));
    updated.textContent = `Updated ${clock(Date.now())}; refreshes every 3 seconds.`;
    showSale();
  }
  await report();
  s.every(3000, () => { if (!document.hidden) report(); });
}

// presalePanel creates presale codes, shows the new ones this once (only
// their hashes are kept) and lists every code's redemptions.
function presalePanel(base, ev, s) {
  const count = h('input', { id: 'presale-count', type: 'number', min: '1', max: '1000', value: '10', required: true });
  const uses = h('input', { id: 'presale-uses', type: 'number', min: '1', max: '10000', value: '2', required: true });
  const opens = h('input', { id: 'presale-opens', type: 'datetime-local', required: true });
  const msg = h('p', { role: 'status', class: 'hint', id: 'presale-msg' });
  const fresh = h('div', {});
  const summary = h('p', { id: 'presale-summary' });
  const rows = h('tbody', { id: 'presale-codes' });
  async function list() {
    let r;
    try { r = await call(`${base}/presale-codes`, { signal: s.signal }); } catch (x) {
      if (!isStop(x)) msg.textContent = `The codes did not load (${explain(x)}).`;
      return;
    }
    summary.textContent = r.opensAt ? `Presale from ${when(r.opensAt)} until the sale opens ${when(r.saleOpensAt)}: ${num(r.used)} of ${num(r.uses)} uses taken.`
      : 'No presale for this event yet.';
    rows.replaceChildren(...r.codes.map(c => h('tr', {}, h('th', { scope: 'row' }, `${c.hint}-…`), h('td', {}, `${num(c.used)} of ${num(c.uses)}`), h('td', {}, when(c.createdAt)))));
    if (!r.codes.length) rows.append(h('tr', {}, h('td', { colspan: '3' }, 'No codes yet.')));
  }
  const form = h('form', { class: 'row', id: 'presale-form' },
    h('label', { for: count.id }, 'Codes '), count, ' ', h('label', { for: uses.id }, 'Uses per code '), uses, ' ',
    h('label', { for: opens.id }, 'Presale opens '), opens, ' ', h('button', { type: 'submit' }, 'Create codes'));
  form.addEventListener('submit', async e => {
    e.preventDefault();
    const at = new Date(opens.value);
    if (Number.isNaN(at.getTime())) { msg.textContent = 'Choose when the presale opens.'; return opens.focus(); }
    msg.textContent = 'Creating…';
    try {
      const r = await call(`${base}/presale-codes`, { method: 'POST', signal: s.signal,
        body: { count: Number(count.value), uses: Number(uses.value), opensAt: at.toISOString().replace(/\.\d+Z$/, 'Z') } });
      msg.textContent = `${num(r.codes.length)} codes created. Copy them now: they are not shown again.`;
      announce(msg.textContent);
      fresh.replaceChildren(h('label', { for: 'presale-new' }, 'New codes'),
        h('textarea', { id: 'presale-new', readonly: true, rows: String(Math.min(10, r.codes.length)) }, r.codes.join('\n')));
      ev.presale = { opensAt: r.opensAt };
      list();
    } catch (x) { if (!isStop(x)) msg.textContent = `Not created: ${explain(x)}`; }
  });
  list();
  s.every(5000, () => { if (!document.hidden) list(); });
  return h('section', { 'aria-labelledby': 'presale-h' }, h('h3', { id: 'presale-h' }, 'Presale codes'),
    h('p', { class: 'hint' }, 'Before the sale opens, a presale admits only fans with a code; each code admits as many accounts as its uses.'),
    form, msg, fresh, summary,
    h('table', {}, h('caption', {}, 'Codes and redemptions'), h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Code'), h('th', { scope: 'col' }, 'Used'), h('th', { scope: 'col' }, 'Created'))), rows));
}

// waitlistPanel shows the waiting list's size after sell-out and sets how
// long an offer lasts (ADR 25).
function waitlistPanel(base, s) {
  const minutes = h('input', { id: 'waitlist-minutes', type: 'number', min: '1', max: '1440', required: true });
  const msg = h('p', { role: 'status', class: 'hint', id: 'waitlist-msg' });
  const summary = h('p', { id: 'waitlist-summary' });
  async function load(first) {
    let r;
    try { r = await call(`${base}/waitlist`, { signal: s.signal }); } catch (x) {
      if (!isStop(x)) msg.textContent = `The waiting list did not load (${explain(x)}).`;
      return;
    }
    summary.textContent = `${num(r.waiting)} waiting for ${num(r.placesWanted)} places · ${num(r.offered)} holding an offer · ${num(r.used)} bought with one · ${num(r.expired)} let one lapse · ${num(r.left)} left.`;
    if (first) minutes.value = String(r.offerMinutes);
  }
  const form = h('form', { class: 'row', id: 'waitlist-form' },
    h('label', { for: minutes.id }, 'Offers last (minutes) '), minutes, ' ', h('button', { type: 'submit' }, 'Set offer window'));
  form.addEventListener('submit', async e => {
    e.preventDefault();
    msg.textContent = 'Saving…';
    try {
      await call(`${base}/waitlist`, { method: 'POST', signal: s.signal, body: { offerMinutes: Number(minutes.value) } });
      msg.textContent = `Offers made from now on last ${num(Number(minutes.value))} minutes.`;
      announce(msg.textContent);
      load(false);
    } catch (x) { if (!isStop(x)) msg.textContent = `Not saved: ${explain(x)}`; }
  });
  load(true);
  s.every(5000, () => { if (!document.hidden) load(false); });
  return h('section', { 'aria-labelledby': 'waitlist-h' }, h('h3', { id: 'waitlist-h' }, 'Waiting list'),
    h('p', { class: 'hint' }, 'After a sell-out fans may join a waiting list. Places that come back are offered to them first come, first served, by email and on the fan page; an unused offer passes to the next fan.'),
    summary, form, msg);
}

// chart draws sold (solid) and held (dashed) over time as an inline SVG.
function chart(samples, width) {
  const NS = 'http://www.w3.org/2000/svg';
  const svg = (tag, attrs, ...kids) => {
    const e = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    e.append(...kids);
    return e;
  };
  // Drawn at the box's own width, so the labels stay legible on a phone.
  const W = Math.round(Math.min(900, Math.max(300, width || 640))), H = 220, L = 44, R = 12, T = 12, B = 28;
  const t0 = samples[0].t, t1 = Math.max(samples.at(-1).t, t0 + 60e3);
  const top = Math.max(4, ...samples.map(p => Math.max(p.sold, p.held)));
  const x = t => (L + (t - t0) / (t1 - t0) * (W - L - R)).toFixed(1);
  const y = v => (H - B - v / top * (H - B - T)).toFixed(1);
  const path = k => samples.map((p, i) => `${i ? 'L' : 'M'}${x(p.t)} ${y(p[k])}`).join(' ');
  const last = samples.at(-1);
  return svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': `Chart: ${num(last.sold)} sold and ${num(last.held)} held now; ${samples.length} samples since ${clock(t0)}.` },
    svg('line', { x1: L, y1: H - B, x2: W - R, y2: H - B, class: 'axis' }),
    svg('line', { x1: L, y1: T, x2: L, y2: H - B, class: 'axis' }),
    svg('text', { x: L - 6, y: H - B, 'text-anchor': 'end' }, '0'),
    svg('text', { x: L - 6, y: T + 10, 'text-anchor': 'end' }, num(top)),
    svg('text', { x: L, y: H - 8 }, clock(t0)),
    svg('text', { x: W - R, y: H - 8, 'text-anchor': 'end' }, clock(t1)),
    svg('path', { d: path('held'), class: 'held' }),
    svg('path', { d: path('sold'), class: 'sold' }),
    svg('text', { x: W - R, y: T + 10, 'text-anchor': 'end', class: 'key' }, '— sold   - - held'));
}

setupCreate();
// The deployment's config names the staff sign-in; it also finishes one
// that comes back here with a code.
await loadConfig();
start();
