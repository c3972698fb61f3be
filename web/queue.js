// The waiting room's page (ADR 9), loaded by app.js when a fan joins or
// comes back to a queue. It follows the CDN-cached queue-status and reads
// the fan's place (queue/me) only when it cannot know enough without it:
// a join after the draw keeps a lower bound of its position, a fan in the
// draw finds its position in the published draw.
import { h, api, clamp, num, clock, about, isStop } from './lib.js';

// waitingRoom shows the fan's place until it is served, expired or sold
// out, and returns its last state. j is the journey's event, API base,
// panel and helpers (app.js).
export async function waitingRoom(j, me) {
  const { ev, base, panel, getStatus, getMe, stored, fan } = j;
  const place = h('p', { class: 'place' });
  const ahead = h('p', { class: 'ahead' });
  const bar = h('progress', { max: '1', value: '0', 'aria-label': 'How far the queue has come to your place' });
  const checked = h('p', { class: 'hint' });
  const step = j.setStep('You are in the queue', h('div', { class: 'queue', 'aria-live': 'polite' }, place, ahead), bar,
    h('p', {}, 'Keep this page open: it moves you on by itself. Refreshing or opening a second tab is fine, because your place belongs to your account, not to this page.'),
    checked);
  const title = panel.querySelector('h2');
  // set changes text only when it differs, so the live region speaks changes only.
  const set = (el, text) => { if (el.textContent !== text) el.textContent = text; };
  const ui = {
    pending(s) {
      bar.hidden = true;
      const [t, p, a] = s.saleState === 'SCHEDULED'
        ? ['You are in the waiting room', 'Your place is drawn when the sale opens.',
          'Everyone in the waiting room then gets a random place in the queue. Joining earlier does not help, and you are already in.']
        : s.saleState === 'OPEN'
          ? ['The sale is open', s.shuffleSeed ? 'Getting your place in the queue…' : 'Drawing places…', 'This takes a few seconds.']
          : ['You are in the waiting room', s.saleState === 'PAUSED' ? 'The sale is paused.' : 'The sale has closed.',
            s.saleState === 'PAUSED' ? 'You keep your place. This page checks again by itself.' : ''];
      set(title, t);
      set(place, p);
      set(ahead, a);
      checked.textContent = `Last checked ${clock(Date.now())}.`;
    },
    waiting(pos, serving, eta, st) {
      set(title, 'You are in the queue');
      bar.hidden = false;
      bar.value = clamp(serving / pos, 0, 1);
      if (place.textContent !== `Your place in the queue: ${num(pos)}`) place.replaceChildren('Your place in the queue: ', h('strong', {}, num(pos)));
      const n = Math.max(0, pos - serving - 1);
      set(ahead, st === 'PAUSED' ? 'The sale is paused for a moment. You keep your place.'
        : `${n === 0 ? 'You are next.' : `${num(n)} ${n === 1 ? 'person is' : 'people are'} ahead of you.`}${eta != null ? ` Estimated wait: ${about(eta)}.` : ''}`);
      checked.textContent = `Last checked ${clock(Date.now())}.`;
    },
    // after: the place is known only to come after position `bound`.
    after(bound, serving, eta, st) {
      set(title, 'You are in the queue');
      bar.hidden = false;
      bar.value = clamp(serving / (bound + 1), 0, 1);
      if (place.textContent !== `Your place in the queue: after ${num(bound)}`) place.replaceChildren('Your place in the queue: after ', h('strong', {}, num(bound)));
      const n = Math.max(0, bound - serving);
      set(ahead, st === 'PAUSED' ? 'The sale is paused for a moment. You keep your place.'
        : `At least ${num(n)} ${n === 1 ? 'person is' : 'people are'} ahead of you.${eta != null ? ` Estimated wait: at least ${about(eta)}.` : ''}`);
      checked.textContent = `Last checked ${clock(Date.now())}.`;
    },
  };
  // Without a place read yet: a bound kept at joining, or the published
  // draw once drawn (pending); the place itself is read when it may be
  // served, or when the page can compute neither.
  if (!me) {
    const b = stored('bound');
    me = typeof b === 'number' ? { state: 'AFTER', bound: b } : { state: 'PENDING', local: true };
  }
  for (;;) {
    if (me.state === 'PENDING') me = await pending(ui, me);
    else if (me.state === 'WAITING') me = await waiting(ui, me);
    else if (me.state === 'AFTER') me = await after(ui, me.bound);
    else break;
  }
  return me;

  // pending follows queue-status until the draw has run, then finds the
  // place in the published draw (a page that has not read it yet), or asks
  // for it (backing off: a late join can take a moment to be placed).
  async function pending(ui, me) {
    let wait = Math.max(2, me.pollSeconds || 2);
    for (;;) {
      const s = await getStatus();
      ui.pending(s);
      if (!s.shuffleSeed) {
        const t = (Date.parse(ev.saleOpensAt) - Date.now()) / 1000;
        await step.sleep(1000 * (s.saleState === 'SCHEDULED' ? clamp(t / 20, 2, 60) : s.saleState === 'OPEN' ? 2 : 30));
        continue;
      }
      if (me.local) {
        // Failing that (the part unreadable for now), the place is read.
        const found = await inDraw(s).catch(e => { if (isStop(e)) throw e; return null; });
        if (found) return found;
        me = {};
      }
      await step.sleep(wait * 1000);
      wait = Math.min(60, wait * 2);
      me = await getMe();
      if (me.state !== 'PENDING') return me;
    }
  }

  // rate is what waits are estimated from: the inlet's current admission
  // rate (admittingPerMinute, slowed while the purchase path is unhealthy).
  function rate(s) { return s.admittingPerMinute || s.admitPerMinute; }

  // inDraw looks the fan up in their part of the published draw: the
  // entrant id is the first 32 hex digits of SHA-256("<eventId>\n<account>").
  // A fan not in it joined too late for the draw: their place comes after
  // every entrant. Null when this browser cannot hash (no secure context).
  async function inDraw(s) {
    if (!globalThis.crypto?.subtle || !fan()?.sub) return null;
    const sum = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(`${ev.eventId}\n${fan().sub}`)));
    const id = Array.from(sum, b => b.toString(16).padStart(2, '0')).join('').slice(0, 32);
    const part = await api(`${base}/queue/draw/${id.slice(0, s.drawPartDigits || 1)}`, { signal: step.signal });
    const e = part.entrants.find(x => x.entrant === id);
    if (!e) return { state: 'AFTER', bound: s.drawEntrants || 0 };
    const eta = rate(s) ? Math.ceil(Math.max(0, e.position - s.servingPosition) * 60 / rate(s)) : 0;
    return { state: 'WAITING', position: e.position, servingPosition: s.servingPosition, etaSeconds: eta, pollSeconds: clamp(eta / 20, 2, 60) };
  }

  // after follows queue-status while the place is known only to come after
  // position `bound`, and reads it once the serving position passes that.
  async function after(ui, bound) {
    let first = null;
    for (;;) {
      const s = await getStatus();
      // Sold out before the bound was served: this place never was.
      if (s.soldOut && s.servingPosition <= bound) return { state: 'SOLD_OUT' };
      if (s.soldOut || s.servingPosition > bound) {
        const m = await getMe();
        if (m.state !== 'PENDING') return m;
      }
      const eta = s.saleState === 'OPEN' && rate(s) ? Math.ceil((bound + 1 - s.servingPosition) * 60 / rate(s)) : null;
      ui.after(bound, s.servingPosition, eta, s.saleState);
      // Never faster than the first wait (as with a known position): paced
      // by the bound alone, every fan behind the last served place would
      // end up reading this document every 2 s.
      const wait = clamp((eta ?? 40) / 20, 2, 60);
      first ??= wait;
      await step.sleep(1000 * Math.max(first, wait));
    }
  }

  // waiting follows the CDN-cached queue-status at pollSeconds (about the
  // first ETA/20, 2-60 s; longer if the ETA grows) until the serving
  // position reaches the place.
  async function waiting(ui, me) {
    const pos = me.position;
    let factor = null;
    let wait = Math.max(2, me.pollSeconds || 2);
    ui.waiting(pos, me.servingPosition, me.etaSeconds, 'OPEN');
    for (;;) {
      await step.sleep(wait * 1000);
      const s = await getStatus();
      // Sold out before this place was served: it never had an admission.
      if (s.soldOut && s.servingPosition < pos) return { state: 'SOLD_OUT' };
      // Served: the admission request answers for the place (a second
      // tab's admission, one used or expired), so no read of it first.
      if (s.servingPosition >= pos) return { state: 'ADMITTABLE' };
      // Without admittingPerMinute the inlet may run below admitPerMinute;
      // queue/me's ETA shows by how much.
      factor ??= s.admittingPerMinute || !(me.etaSeconds > 0 && s.admitPerMinute) ? 1 : clamp((pos - me.servingPosition) * 60 / me.etaSeconds / s.admitPerMinute, 0.1, 1);
      const eta = s.saleState === 'OPEN' && rate(s) ? Math.ceil((pos - s.servingPosition) * 60 / (rate(s) * factor)) : null;
      ui.waiting(pos, s.servingPosition, eta, s.saleState);
      // Never faster than queue/me said: ~20 reads for a wait of any length.
      wait = Math.max(me.pollSeconds || 2, clamp((eta ?? 1200) / 20, 2, 60));
    }
  }
}
