// Organizer console: create an event from a JSON venue map (local stack:
// a dev token stands in for IAM-signed requests).
const body = document.getElementById('body');
const result = document.getElementById('result');
const opens = new Date(Date.now() + 3600e3).toISOString().replace(/\.\d+Z$/, 'Z');
const starts = new Date(Date.now() + 30 * 86400e3).toISOString().replace(/\.\d+Z$/, 'Z');
body.value = JSON.stringify({
  name: 'Club night', venue: 'Small Hall', startsAt: starts, saleOpensAt: opens,
  queue: { mode: 'off', admitPerMinute: 600 },
  sections: [
    { id: 'A', name: 'Balcony', priceCents: 4500, currency: 'EUR', rows: [{ id: '1', seats: 20 }, { id: '2', seats: 20 }] },
    { id: 'GA', name: 'Floor', priceCents: 3000, currency: 'EUR', capacity: 300 },
  ],
}, null, 2);

document.getElementById('create').addEventListener('submit', async (e) => {
  e.preventDefault();
  const tok = await (await fetch('/dev/token', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ sub: document.getElementById('sub').value, role: 'organizer' }) })).json();
  const res = await fetch('/admin/v1/events', { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${tok.token}` }, body: body.value });
  const out = await res.json();
  result.textContent = res.ok ? `Created ${out.eventId}: ${location.origin}/?event=${out.eventId}` : `${out.error.code}: ${out.error.message}`;
});
