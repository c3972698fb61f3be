// The seat map: sections coloured by how much is left, and one reserved
// section's seats as toggle buttons. The seats are one tab stop: arrow
// keys move, Home/End jump within a row, Space or Enter picks.
import { h, money, num } from './lib.js';

const stateWords = { AVAILABLE: 'available', HELD: 'held by another fan', SOLD: 'sold' };

// sectionList shows every section with its price and what is left.
export function sectionList(ev, onPick) {
  const items = {};
  const ul = h('ul', { class: 'sections' });
  for (const s of ev.sections) {
    const left = h('span', { class: 'left' });
    const fill = h('span');
    const b = h('button', { type: 'button', class: 'section', 'aria-pressed': 'false', 'data-section': s.id, onclick: () => onPick(s) },
      h('span', { class: 'name' }, s.name),
      h('span', { class: 'price' }, money(s.priceCents, s.currency)),
      h('span', { class: 'kind' }, s.kind === 'ga' ? 'Standing' : 'Seated'),
      left, h('span', { class: 'bar', 'aria-hidden': 'true' }, fill));
    items[s.id] = { b, left, fill };
    ul.append(h('li', {}, b));
  }
  return {
    el: ul,
    update(av) {
      for (const a of av.sections) {
        const it = items[a.id];
        if (!it) continue;
        const share = a.capacity ? a.available / a.capacity : 0;
        it.b.dataset.level = a.available === 0 ? 'none' : share < 0.2 ? 'low' : 'many';
        it.left.textContent = a.available === 0 ? 'None left' : `${num(a.available)} of ${num(a.capacity)} left`;
        it.fill.style.width = `${Math.round(share * 100)}%`;
      }
    },
    select(id) { for (const [k, it] of Object.entries(items)) it.b.setAttribute('aria-pressed', String(k === id)); },
  };
}

// seatGrid draws a reserved section. onChange(pickedIds, message) runs when
// the choice changes; max caps how many seats one fan may pick.
export function seatGrid(sec, max, onChange) {
  const picked = new Set();
  const refused = new Map(); // seat → when a hold was refused for it
  const rows = [];
  const byId = new Map();
  const el = h('div', { class: 'seatmap', role: 'group', 'aria-label': `Seats in ${sec.name}. Arrow keys move between seats, Space chooses.` },
    h('p', { class: 'stage', 'aria-hidden': 'true' }, 'Stage'));
  sec.rows.forEach((row, r) => {
    const line = h('div', { class: 'seat-row', role: 'group', 'aria-label': `Row ${row.id}` },
      h('span', { class: 'row-id', 'aria-hidden': 'true' }, row.id));
    const list = [];
    for (let n = 1; n <= row.seats; n++) {
      const id = `${sec.id}-${row.id}-${n}`;
      const b = h('button', { type: 'button', class: 'seat', tabindex: '-1', 'aria-pressed': 'false', 'data-seat': id }, String(n));
      b.dataset.r = r;
      b.dataset.c = n - 1;
      b.seat = { id, row: row.id, n, state: 'AVAILABLE' };
      label(b);
      list.push(b);
      byId.set(id, b);
      line.append(b);
    }
    rows.push(list);
    el.append(line);
  });
  if (rows[0]?.[0]) rows[0][0].tabIndex = 0;

  function label(b) {
    const s = b.seat;
    b.setAttribute('aria-label', `Row ${s.row}, seat ${s.n}, ${picked.has(s.id) ? 'chosen' : stateWords[s.state]}`);
  }
  function changed(msg) { onChange([...picked].sort(), msg); }
  function toggle(b) {
    const s = b.seat;
    if (picked.has(s.id)) picked.delete(s.id);
    else if (s.state !== 'AVAILABLE') return changed(`Row ${s.row}, seat ${s.n} is ${stateWords[s.state]}.`);
    else if (picked.size >= max) return changed(`You can choose up to ${max} seats.`);
    else picked.add(s.id);
    b.setAttribute('aria-pressed', String(picked.has(s.id)));
    label(b);
    changed();
  }
  function move(from, r, c) {
    const row = rows[Math.max(0, Math.min(rows.length - 1, r))];
    const to = row[Math.max(0, Math.min(row.length - 1, c))];
    from.tabIndex = -1;
    to.tabIndex = 0;
    to.focus();
  }
  el.addEventListener('click', e => {
    const b = e.target.closest('.seat');
    if (!b) return;
    el.querySelector('.seat[tabindex="0"]').tabIndex = -1; // the clicked seat is the tab stop now
    b.tabIndex = 0;
    toggle(b);
  });
  el.addEventListener('keydown', e => {
    const b = e.target.closest('.seat');
    if (!b) return;
    const r = +b.dataset.r, c = +b.dataset.c;
    const go = { ArrowLeft: [r, c - 1], ArrowRight: [r, c + 1], ArrowUp: [r - 1, c], ArrowDown: [r + 1, c], Home: [r, 0], End: [r, Infinity] }[e.key];
    if (!go) return;
    e.preventDefault();
    move(b, ...go);
  });

  return {
    el,
    // update applies availability (asOf: its time); chosen seats someone
    // else took are dropped. A seat a hold was just refused for stays taken
    // until availability newer than the refusal says otherwise.
    update(states, asOf) {
      const lost = [];
      for (const [id, b] of byId) {
        let st = states[id] || 'AVAILABLE';
        if (refused.has(id)) {
          if (asOf && Date.parse(asOf) > refused.get(id)) refused.delete(id);
          else if (st === 'AVAILABLE') st = 'HELD';
        }
        if (st !== 'AVAILABLE' && picked.has(id)) { picked.delete(id); b.setAttribute('aria-pressed', 'false'); lost.push(id); }
        if (b.seat.state === st) continue;
        b.seat.state = st;
        b.dataset.state = st.toLowerCase();
        b.setAttribute('aria-disabled', String(st !== 'AVAILABLE'));
        label(b);
      }
      if (lost.length) changed(`Seat${lost.length > 1 ? 's' : ''} ${lost.join(', ')} ${lost.length > 1 ? 'were' : 'was'} just taken and removed from your choice.`);
    },
    // taken marks seats a hold was refused for.
    taken(ids) {
      const states = {};
      for (const [id, b] of byId) states[id] = b.seat.state;
      for (const id of ids) if (byId.has(id)) refused.set(id, Date.now());
      this.update(states);
    },
  };
}
