// The venue map (ADR 27): every section drawn where it lies relative to the
// stage, coloured by price and shaded by what is left; a tap zooms into a
// section, whose seats are drawn in their rows. Wheel, pinch, drag and the
// zoom buttons move the view; the stage, when out of view, is pointed at
// from the edge. Loaded when a fan reaches the seats, so the event page
// stays light. Shapes are in venue units from the middle of the stage's
// front edge: x across (positive: the audience's right), y into the hall.
import { h, money, num } from './lib.js';

// Its styles come with it (style-src 'self' allows the stylesheet).
if (!document.querySelector('link[href="/venuemap.css"]')) document.head.append(h('link', { rel: 'stylesheet', href: '/venuemap.css' }));

const NS = 'http://www.w3.org/2000/svg';
function s(tag, attrs, ...kids) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v != null) e.setAttribute(k, v);
  e.append(...kids);
  return e;
}
const f = v => Math.round(v * 100) / 100;
const rad = d => d * Math.PI / 180;
// onArc is the point at radius r and angle a (degrees from straight out).
const onArc = (r, a) => [r * Math.sin(rad(a)), r * Math.cos(rad(a))];

function outline(shape) {
  if (shape.polygon) return shape.polygon;
  const { inner, outer, from, to } = shape.arc;
  const steps = Math.max(2, Math.ceil((to - from) / 5));
  const pts = [];
  for (let i = 0; i <= steps; i++) pts.push(onArc(outer, from + (to - from) * i / steps));
  for (let i = steps; i >= 0; i--) pts.push(onArc(inner, from + (to - from) * i / steps));
  return pts;
}
const pathOf = pts => `M${pts.map(p => `${f(p[0])} ${f(p[1])}`).join('L')}Z`;
function box(pts) {
  const xs = pts.map(p => p[0]), ys = pts.map(p => p[1]);
  return { x: Math.min(...xs), y: Math.min(...ys), w: Math.max(...xs) - Math.min(...xs), h: Math.max(...ys) - Math.min(...ys) };
}

// seatPlaces places every seat of a reserved section: rows from the edge
// nearest the stage outwards, seats evenly along each row, seat 1 at the
// left as seen facing the stage. It returns the positions by row and a
// radius that keeps neighbours apart.
export function seatPlaces(sec) {
  const n = sec.rows.length;
  const sh = sec.shape;
  if (sh.arc) {
    const { inner, outer, from, to } = sh.arc;
    const depth = (outer - inner) / n;
    let r0 = Infinity;
    const rows = sec.rows.map((row, i) => {
      const r = inner + depth * (i + 0.5);
      r0 = Math.min(r0, rad(to - from) * r / row.seats);
      return Array.from({ length: row.seats }, (_, k) => onArc(r, from + (to - from) * (k + 0.5) / row.seats));
    });
    return { rows, r: Math.min(r0, depth) * 0.42 };
  }
  // A polygon: rows run across the direction from the stage to its middle.
  const pts = sh.polygon;
  const c = pts.reduce((a, p) => [a[0] + p[0] / pts.length, a[1] + p[1] / pts.length], [0, 0]);
  const len = Math.hypot(c[0], c[1]);
  const d = len ? [c[0] / len, c[1] / len] : [0, 1];
  const u = [d[1], -d[0]]; // the row's direction, left to right facing the stage
  const dot = (p, v) => p[0] * v[0] + p[1] * v[1];
  const ts = pts.map(p => dot(p, d));
  const t0 = Math.min(...ts), t1 = Math.max(...ts);
  const depth = (t1 - t0) / n;
  let r0 = depth;
  const rows = sec.rows.map((row, i) => {
    const t = t0 + depth * (i + 0.5);
    let lo = Infinity, hi = -Infinity;
    pts.forEach((p, j) => {
      const q = pts[(j + 1) % pts.length];
      const a = dot(p, d) - t, b = dot(q, d) - t;
      if ((a <= 0) === (b <= 0)) return;
      const x = dot(p, u) + (dot(q, u) - dot(p, u)) * a / (a - b);
      lo = Math.min(lo, x);
      hi = Math.max(hi, x);
    });
    if (lo > hi) lo = hi = 0;
    r0 = Math.min(r0, (hi - lo) / row.seats);
    return Array.from({ length: row.seats }, (_, k) => {
      const x = lo + (hi - lo) * (k + 0.5) / row.seats;
      return [t * d[0] + x * u[0], t * d[1] + x * u[1]];
    });
  });
  return { rows, r: r0 * 0.42 };
}

// Price colours, cheapest first; each meets 3:1 against the page.
const palette = ['#1d4ed8', '#0f766e', '#7c3aed', '#b45309', '#be185d', '#4d7c0f', '#0e7490', '#9f1239'];

// venueMap draws ev's sections and calls onSection(section) when one is
// tapped. zoom(section, choice) shows a reserved section's seats (or a
// standing section alone), whole() the venue again, update(av) the counts.
export function venueMap(ev, onSection) {
  const prices = [...new Set(ev.sections.map(x => x.priceCents))].sort((a, b) => a - b);
  const colour = sec => palette[prices.indexOf(sec.priceCents) % palette.length];
  const all = ev.sections.flatMap(x => outline(x.shape));
  const b0 = box(all.concat([[0, 0]]));
  const stageW = Math.max(8, Math.min(b0.w * 0.25, 60)), stageD = stageW / 4;
  const venue = box(all.concat([[-stageW / 2, -stageD], [stageW / 2, 0]]));
  const pad = Math.max(venue.w, venue.h) * 0.04;
  const home = { x: venue.x - pad, y: venue.y - pad, w: venue.w + 2 * pad, h: venue.h + 2 * pad };

  const shapes = new Map();
  const layer = s('g', { class: 'sections' });
  for (const sec of ev.sections) {
    const pts = outline(sec.shape);
    const bb = box(pts);
    const p = s('path', { d: pathOf(pts), class: 'sec', fill: colour(sec), 'data-section': sec.id });
    const t = s('text', { x: f(bb.x + bb.w / 2), y: f(bb.y + bb.h / 2), 'font-size': f(Math.max(1.5, Math.min(bb.w / 8, bb.h / 2.5, home.w / 30))), 'text-anchor': 'middle', 'dominant-baseline': 'middle', class: 'sec-label' }, sec.name);
    p.append(s('title', {}, `${sec.name}, ${money(sec.priceCents, sec.currency)}`));
    layer.append(p, t);
    shapes.set(sec.id, { sec, p, bb });
  }
  const seatLayer = s('g', { class: 'seats', role: 'group' });
  const stage = s('g', { class: 'stage-mark' },
    s('rect', { x: f(-stageW / 2), y: f(-stageD), width: f(stageW), height: f(stageD), rx: f(stageD / 4) }),
    s('text', { x: 0, y: f(-stageD / 2), 'font-size': f(stageD * 0.6), 'text-anchor': 'middle', 'dominant-baseline': 'middle' }, 'Stage'));
  const svg = s('svg', { class: 'venue', role: 'group', 'aria-label': `Map of ${ev.venue}: the stage and ${ev.sections.length} sections. Choose a section from the list below or tap it here.` },
    stage, layer, seatLayer);
  const pointer = h('span', { class: 'stage-pointer', hidden: true, 'aria-hidden': 'true' }, h('span', { class: 'arrow' }, '↑'), ' Stage');
  const btn = (label, text, fn) => h('button', { type: 'button', class: 'secondary', 'aria-label': label, onclick: fn }, text);
  const wholeBtn = btn(null, 'Whole venue', () => api.whole());
  const tools = h('div', { class: 'map-tools' }, btn('Zoom in', '+', () => scale(0.7)), btn('Zoom out', '−', () => scale(1 / 0.7)), wholeBtn);
  const legend = h('ul', { class: 'legend prices', 'aria-label': 'Section colours by price' },
    ...prices.map((c, i) => {
      const sw = h('span', { class: 'swatch' });
      sw.style.background = palette[i % palette.length];
      return h('li', {}, sw, money(c, ev.currency));
    }));
  const el = h('figure', { class: 'venue-map' }, tools, h('div', { class: 'map-frame' }, svg, pointer), legend);

  // The view box, clamped so the map never drifts out of sight.
  let vb = { ...home };
  function show(v) {
    const w = Math.max(2, Math.min(home.w * 1.5, v.w)), ht = w * v.h / v.w;
    vb = { x: Math.max(home.x - w / 2, Math.min(home.x + home.w - w / 2, v.x)), y: Math.max(home.y - ht / 2, Math.min(home.y + home.h - ht / 2, v.y)), w, h: ht };
    svg.setAttribute('viewBox', `${f(vb.x)} ${f(vb.y)} ${f(vb.w)} ${f(vb.h)}`);
    point();
  }
  // fit shows the box b whole in the frame's proportions.
  function fit(b) {
    const r = svg.clientWidth && svg.clientHeight ? svg.clientHeight / svg.clientWidth : home.h / home.w;
    const w = Math.max(b.w, b.h / r), ht = w * r;
    show({ x: b.x + b.w / 2 - w / 2, y: b.y + b.h / 2 - ht / 2, w, h: ht });
  }
  function scale(k, at) {
    const c = at || [vb.x + vb.w / 2, vb.y + vb.h / 2];
    show({ x: c[0] - (c[0] - vb.x) * k, y: c[1] - (c[1] - vb.y) * k, w: vb.w * k, h: vb.h * k });
  }
  // point shows where the stage is when it is out of view.
  function point() {
    const sx = 0, sy = -stageD / 2;
    const inView = sx + stageW / 2 > vb.x && sx - stageW / 2 < vb.x + vb.w && sy + stageD > vb.y && sy - stageD < vb.y + vb.h;
    pointer.hidden = inView;
    if (inView) return;
    const cx = vb.x + vb.w / 2, cy = vb.y + vb.h / 2, dx = sx - cx, dy = sy - cy;
    const k = Math.min(Math.abs(vb.w / 2 / (dx || 1e-9)), Math.abs(vb.h / 2 / (dy || 1e-9)));
    pointer.style.left = `${Math.max(8, Math.min(92, 50 + dx * k / vb.w * 100))}%`;
    pointer.style.top = `${Math.max(6, Math.min(94, 50 + dy * k / vb.h * 100))}%`;
    pointer.firstChild.style.transform = `rotate(${Math.atan2(dx, -dy)}rad)`;
  }
  const toVenue = (x, y) => {
    const m = svg.getScreenCTM().inverse();
    const p = new DOMPoint(x, y).matrixTransform(m);
    return [p.x, p.y];
  };

  // Wheel and pinch zoom, drag to pan; a drag is not a tap.
  svg.addEventListener('wheel', e => {
    e.preventDefault();
    scale(Math.exp(Math.max(-1, Math.min(1, e.deltaY * 0.002))), toVenue(e.clientX, e.clientY));
  }, { passive: false });
  const down = new Map();
  let dragged = false, last = null;
  svg.addEventListener('pointerdown', e => {
    down.set(e.pointerId, [e.clientX, e.clientY]);
    if (down.size === 1) dragged = false;
    last = null;
  });
  svg.addEventListener('pointermove', e => {
    if (!down.has(e.pointerId)) return;
    const prev = down.get(e.pointerId);
    down.set(e.pointerId, [e.clientX, e.clientY]);
    if (down.size === 1) {
      if (!dragged && Math.hypot(e.clientX - prev[0], e.clientY - prev[1]) < 3) { down.set(e.pointerId, prev); return; }
      if (!dragged) svg.setPointerCapture(e.pointerId);
      dragged = true;
      const a = toVenue(...prev), b = toVenue(e.clientX, e.clientY);
      show({ ...vb, x: vb.x - (b[0] - a[0]), y: vb.y - (b[1] - a[1]) });
    } else if (down.size === 2) {
      const [p, q] = [...down.values()];
      const dist = Math.hypot(p[0] - q[0], p[1] - q[1]);
      if (last) scale(last / dist, toVenue((p[0] + q[0]) / 2, (p[1] + q[1]) / 2));
      last = dist;
      dragged = true;
    }
  });
  const up = e => { down.delete(e.pointerId); last = null; };
  svg.addEventListener('pointerup', up);
  svg.addEventListener('pointercancel', up);

  // Taps: a seat toggles, a section zooms in.
  let choice = null, current = null, lastZoom = { id: null, ch: null }; // the section zoomed into, for coming back after Whole venue
  const circles = new Map();
  svg.addEventListener('click', e => {
    if (dragged) return;
    const c = e.target.closest('.seat');
    if (c && choice) {
      rove(c);
      return choice.toggle(c.dataset.seat);
    }
    const p = e.target.closest('.sec');
    if (!p || p.dataset.section === current) return;
    const sec = shapes.get(p.dataset.section).sec;
    if (p.dataset.section === lastZoom.id) api.zoom(sec, lastZoom.ch); // keep the seats chosen there
    else onSection(sec);
  });
  // Keys: the seats are one tab stop, as in the list.
  function rove(c) {
    seatLayer.querySelector('.seat[tabindex="0"]')?.setAttribute('tabindex', '-1');
    c.setAttribute('tabindex', '0');
    c.setAttribute('aria-label', choice.words(c.seat));
    c.setAttribute('aria-pressed', String(choice.picked.has(c.seat.id)));
    c.focus();
  }
  seatLayer.addEventListener('keydown', e => {
    const c = e.target.closest('.seat');
    if (!c) return;
    if (e.key === ' ' || e.key === 'Enter') {
      e.preventDefault();
      choice.toggle(c.dataset.seat);
      c.setAttribute('aria-pressed', String(choice.picked.has(c.seat.id)));
      return c.setAttribute('aria-label', choice.words(c.seat));
    }
    const to = choice.at(c.seat, e.key);
    if (!to) return;
    e.preventDefault();
    const t = circles.get(to.id);
    rove(t);
    // Keep the focused seat in view.
    const x = +t.getAttribute('cx'), y = +t.getAttribute('cy');
    if (x < vb.x || x > vb.x + vb.w || y < vb.y || y > vb.y + vb.h) show({ ...vb, x: x - vb.w / 2, y: y - vb.h / 2 });
  });
  function paint(ids) {
    for (const id of ids) {
      const c = circles.get(id);
      c.dataset.state = choice.picked.has(id) ? 'picked' : c.seat.state.toLowerCase();
    }
  }

  const api = {
    el,
    update(av) {
      for (const a of av.sections) {
        const it = shapes.get(a.id);
        if (!it) continue;
        const share = a.capacity ? a.available / a.capacity : 0;
        it.p.dataset.level = a.available === 0 ? 'none' : share < 0.2 ? 'low' : 'many';
        it.p.setAttribute('fill-opacity', a.available === 0 ? '1' : f(0.3 + 0.7 * share));
        it.p.lastChild.textContent = `${it.sec.name}, ${money(it.sec.priceCents, it.sec.currency)}, ${a.available ? `${num(a.available)} left` : 'none left'}`;
      }
    },
    // zoom shows one section: its seats drawn in rows when choice is given.
    zoom(sec, ch) {
      current = sec.id;
      choice = ch || null;
      lastZoom = { id: sec.id, ch: choice };
      circles.clear();
      seatLayer.replaceChildren();
      for (const it of shapes.values()) it.p.classList.toggle('current', it.sec.id === sec.id);
      svg.classList.add('zoomed');
      if (choice) {
        // One string parsed at once draws thousands of seats several times
        // faster than an element at a time (ids are letters and digits).
        const { rows, r } = seatPlaces(sec);
        const state = seat => choice.picked.has(seat.id) ? 'picked' : seat.state.toLowerCase();
        const parts = [];
        rows.forEach((row, i) => {
          const first = row[0], next = row[1] || [first[0] + 1, first[1]];
          const dx = first[0] - next[0], dy = first[1] - next[1], d = Math.hypot(dx, dy) || 1;
          parts.push(`<text class="row-label" x="${f(first[0] + dx / d * r * 3)}" y="${f(first[1] + dy / d * r * 3)}" font-size="${f(r * 1.6)}" text-anchor="middle" dominant-baseline="middle">${sec.rows[i].id.replace(/[<&]/g, '')}</text>`);
          row.forEach((p, k) => {
            const seat = choice.rows[i][k];
            parts.push(`<circle class="seat" role="button" cx="${f(p[0])}" cy="${f(p[1])}" r="${f(r)}" tabindex="-1" data-seat="${seat.id}" data-state="${state(seat)}"${seat.mark ? ` data-mark="${seat.mark}"` : ''}/>`);
          });
        });
        seatLayer.innerHTML = parts.join('');
        for (const c of seatLayer.getElementsByTagName('circle')) {
          c.seat = choice.seats.get(c.dataset.seat);
          circles.set(c.seat.id, c);
        }
        seatLayer.setAttribute('aria-label', `Seats in ${sec.name}, drawn in rows. Arrow keys move between seats, Space chooses.`);
        choice.watch({ paint: ids => { if (choice === ch) paint(ids); } });
        const first = circles.values().next().value;
        if (first) first.setAttribute('tabindex', '0');
      }
      fit(shapes.get(sec.id).bb);
    },
    whole() {
      current = null;
      choice = null;
      circles.clear();
      seatLayer.replaceChildren();
      svg.classList.remove('zoomed');
      for (const it of shapes.values()) it.p.classList.remove('current');
      fit(home);
    },
  };
  requestAnimationFrame(() => fit(home));
  show(home);
  // A mark the browser test reads to time the first render.
  requestAnimationFrame(() => performance.mark('stararena:venue-map'));
  return api;
}
