// The seat picker: the sections with what is left, a fan's choice of seats
// in one reserved section, and that section's seats as a list of toggle
// buttons. The venue map (venuemap.js) draws the same choice.
import { h, money, num } from './lib.js';

const stateWords = { AVAILABLE: 'available', HELD: 'held by another fan', SOLD: 'sold', UNAVAILABLE: 'not on sale' };
const markWords = { wheelchair: 'wheelchair space', companion: 'companion seat' };

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

// seatChoice is a fan's choice of seats in one reserved section and what
// the site knows of their states; the venue map and the list of seats are
// two views of it. onChange(pickedIds, message) runs when the choice
// changes; max caps how many seats one fan may pick.
export function seatChoice(sec, max, onChange) {
  const picked = new Set();
  const refused = new Map(); // seat → when a hold was refused for it
  const seats = new Map();
  // The organizer's accessibility marks (ADR 30).
  const marks = new Map([...(sec.wheelchair || []).map(id => [id, 'wheelchair']), ...(sec.companion || []).map(id => [id, 'companion'])]);
  const rows = sec.rows.map((row, r) => Array.from({ length: row.seats }, (_, c) => {
    const id = `${sec.id}-${row.id}-${c + 1}`;
    const s = { id, row: row.id, n: c + 1, r, c, state: 'AVAILABLE', mark: marks.get(id) || '' };
    seats.set(s.id, s);
    return s;
  }));
  const views = new Set();
  const paint = ids => { for (const v of views) v.paint(ids); };
  const changed = msg => onChange([...picked].sort(), msg);
  return {
    sec, rows, seats, picked,
    get max() { return max; },
    set max(n) { max = n; },
    watch(v) { views.add(v); },
    marked: marks.size > 0,
    words: s => `Row ${s.row}, seat ${s.n}${s.mark ? `, ${markWords[s.mark]}` : ''}, ${picked.has(s.id) ? 'chosen' : stateWords[s.state] || 'not on sale'}`,
    // at is the seat a key press moves to from s, or null for other keys.
    at(s, key) {
      const go = { ArrowLeft: [s.r, s.c - 1], ArrowRight: [s.r, s.c + 1], ArrowUp: [s.r - 1, s.c], ArrowDown: [s.r + 1, s.c], Home: [s.r, 0], End: [s.r, Infinity] }[key];
      if (!go) return null;
      const row = rows[Math.max(0, Math.min(rows.length - 1, go[0]))];
      return row[Math.max(0, Math.min(row.length - 1, go[1]))];
    },
    toggle(id) {
      const s = seats.get(id);
      if (picked.has(id)) picked.delete(id);
      else if (s.state !== 'AVAILABLE') return changed(`Row ${s.row}, seat ${s.n} is ${stateWords[s.state]}.`);
      else if (picked.size >= max) return changed(max ? `You can choose up to ${max} seat${max === 1 ? '' : 's'}.` : 'This account has no tickets left to buy for this event.');
      else picked.add(id);
      paint([id]);
      changed();
    },
    // update applies availability (asOf: its time); chosen seats someone
    // else took are dropped. A seat a hold was just refused for stays taken
    // until availability newer than the refusal says otherwise.
    update(states, asOf) {
      const lost = [], touched = [];
      for (const [id, s] of seats) {
        let st = states[id] || 'AVAILABLE';
        if (refused.has(id)) {
          if (asOf && Date.parse(asOf) > refused.get(id)) refused.delete(id);
          else if (st === 'AVAILABLE') st = 'HELD';
        }
        if (st !== 'AVAILABLE' && picked.has(id)) { picked.delete(id); lost.push(id); touched.push(id); }
        if (s.state === st) continue;
        s.state = st;
        touched.push(id);
      }
      if (touched.length) paint(touched);
      if (lost.length) changed(`Seat${lost.length > 1 ? 's' : ''} ${lost.join(', ')} ${lost.length > 1 ? 'were' : 'was'} just taken and removed from your choice.`);
    },
    // taken marks seats a hold was refused for.
    taken(ids) {
      const states = {};
      for (const [id, s] of seats) states[id] = s.state;
      for (const id of ids) if (seats.has(id)) refused.set(id, Date.now());
      this.update(states);
    },
  };
}

// seatGrid lists a reserved section's seats as toggle buttons, row by row
// (the list view: every seat a button a screen reader names). The seats
// are one tab stop: arrow keys move, Home/End jump within a row, Space or
// Enter picks. The stage and the row ids stay in sight while it scrolls.
export function seatGrid(choice) {
  const sec = choice.sec;
  const byId = new Map();
  const el = h('div', { class: 'seatmap', role: 'group', 'aria-label': `Seats in ${sec.name}. Arrow keys move between seats, Space chooses.` },
    h('p', { class: 'stage', 'aria-hidden': 'true' }, 'Stage'));
  choice.rows.forEach((row, r) => {
    const line = h('div', { class: 'seat-row', role: 'group', 'aria-label': `Row ${sec.rows[r].id}` },
      h('span', { class: 'row-id', 'aria-hidden': 'true' }, sec.rows[r].id));
    for (const s of row) {
      const b = h('button', { type: 'button', class: 'seat', tabindex: '-1', 'data-seat': s.id }, s.mark === 'wheelchair' ? '♿' : String(s.n));
      if (s.mark) b.dataset.mark = s.mark;
      b.seat = s;
      byId.set(s.id, b);
      line.append(b);
    }
    el.append(line);
  });
  const paint = ids => {
    for (const id of ids) {
      const b = byId.get(id);
      const s = b.seat;
      b.dataset.state = s.state.toLowerCase();
      b.setAttribute('aria-pressed', String(choice.picked.has(id)));
      b.setAttribute('aria-disabled', String(s.state !== 'AVAILABLE'));
      b.setAttribute('aria-label', choice.words(s));
    }
  };
  paint(byId.keys());
  choice.watch({ paint });
  const first = byId.values().next().value;
  if (first) first.tabIndex = 0;

  el.addEventListener('click', e => {
    const b = e.target.closest('.seat');
    if (!b) return;
    el.querySelector('.seat[tabindex="0"]').tabIndex = -1; // the clicked seat is the tab stop now
    b.tabIndex = 0;
    choice.toggle(b.seat.id);
  });
  el.addEventListener('keydown', e => {
    const b = e.target.closest('.seat');
    const to = b && choice.at(b.seat, e.key);
    if (!to) return;
    e.preventDefault();
    b.tabIndex = -1;
    const t = byId.get(to.id);
    t.tabIndex = 0;
    t.focus();
  });
  return { el };
}

// accessibleFilter is the "wheelchair accessible" switch: when on, the
// views in els show only wheelchair spaces and companion seats (CSS hides
// the rest through data-accessible on each view).
export function accessibleFilter(choice, els) {
  const box = h('input', { type: 'checkbox', id: 'accessible-only' });
  box.addEventListener('change', () => { for (const el of els) el.toggleAttribute('data-accessible', box.checked); });
  return h('p', { class: 'row accessible-filter' }, box, ' ', h('label', { for: 'accessible-only' }, '♿ Wheelchair accessible: show only wheelchair spaces and companion seats'));
}
