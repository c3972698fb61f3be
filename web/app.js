// Fan site: events and live availability, read from the JSON API.
const main = document.getElementById('main');
const params = new URLSearchParams(location.search);

function money(cents, currency) {
  return new Intl.NumberFormat(undefined, { style: 'currency', currency }).format(cents / 100);
}

function el(tag, text) { const e = document.createElement(tag); if (text !== undefined) e.textContent = text; return e; }

async function getJSON(url) {
  const res = await fetch(url);
  const body = await res.json();
  if (!res.ok) throw new Error(body.error ? body.error.message : res.statusText);
  return body;
}

async function showList() {
  const { events } = await getJSON('/v1/events');
  main.replaceChildren(el('h2', 'On sale soon'));
  const ul = el('ul');
  for (const ev of events) {
    const li = el('li');
    const a = el('a', `${ev.name} — ${ev.venue}`);
    a.href = `/?event=${encodeURIComponent(ev.eventId)}`;
    li.append(a, el('span', ` · ${new Date(ev.startsAt).toLocaleString()} · ${ev.saleState}`));
    ul.append(li);
  }
  main.append(ul);
}

async function showEvent(id) {
  const [ev, av] = await Promise.all([getJSON(`/v1/events/${encodeURIComponent(id)}`), getJSON(`/v1/events/${encodeURIComponent(id)}/availability`)]);
  const counts = Object.fromEntries(av.sections.map(s => [s.id, s]));
  main.replaceChildren(el('h2', ev.name), el('p', `${ev.venue} · ${new Date(ev.startsAt).toLocaleString()} · sale ${ev.saleState.toLowerCase()} (opens ${new Date(ev.saleOpensAt).toLocaleString()})`));
  const table = el('table');
  const head = el('tr');
  for (const h of ['Section', 'Price', 'Available', 'Capacity']) head.append(el('th', h));
  table.append(head);
  for (const s of ev.sections) {
    const tr = el('tr');
    tr.append(el('td', s.name), el('td', money(s.priceCents, s.currency)), el('td', String(counts[s.id]?.available ?? '–')), el('td', String(s.capacity)));
    table.append(tr);
  }
  main.append(table, el('p', `Availability as of ${new Date(av.asOf).toLocaleTimeString()}`));
}

(params.get('event') ? showEvent(params.get('event')) : showList()).catch(err => {
  main.replaceChildren(Object.assign(el('p', `Sorry, that did not load: ${err.message}`), { className: 'error' }));
});
