// StarArena fan site on the JSON API. Views: / (events), /?event=ID (event
// page → waiting room → seats), /?order=ID (hold → payment → tickets),
// /?mine (a fan's orders).
import { h, api, enc, clamp, newScope, isStop, session, signOut, signInForm, money, num, when, clock, timeTag,
  countdown, announce, explain, loadConfig, botToken, botCaptcha, canShowCaptcha, takeOffline } from './lib.js';
import { pricingNote, breakdown, refundDetails, declineWords } from './price.js';

const main = document.getElementById('main');
const cfg = await loadConfig();
// Offline copies (sw.js): loaded after the page, not in its weight.
import('./offline.js').then(m => m.registerOffline()).catch(() => {});
let view = newScope();

function go(url, replace) {
  history[replace ? 'replaceState' : 'pushState'](null, '', url);
  route();
}
document.addEventListener('click', e => {
  const a = e.target.closest('a[data-nav]');
  if (!a || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  e.preventDefault();
  go(a.getAttribute('href'));
});
addEventListener('popstate', route);

// markOffline says under the heading when the page shows offline copies.
async function markOffline() {
  main.querySelector('.notice.offline')?.remove();
  const since = takeOffline();
  if (since) main.querySelector('h1')?.after((await import('./offline.js')).offlineNote(since));
}

function show(...kids) {
  main.replaceChildren(...kids);
  main.querySelector('h1')?.focus();
}

function renderWho() {
  const s = session('fan');
  document.getElementById('who').replaceChildren(...(s ? [
    h('span', {}, `Signed in as ${s.name || s.sub}`), ' ',
    h('button', { type: 'button', class: 'link', onclick: () => { signOut('fan', { everywhere: true }); route(); } }, 'Sign out'),
  ] : []));
}

function route() {
  view.stop();
  view = newScope();
  takeOffline(); // a copy the last page showed is not this page's
  renderWho();
  const q = new URLSearchParams(location.search);
  const page = q.get('order') ? orderPage(q.get('order')) : q.get('event') ? eventPage(q.get('event')) : q.has('mine') ? minePage() : listPage();
  page.catch(e => {
    if (isStop(e)) return;
    if (e.code === 'UNAUTHORIZED') { signOut('fan'); return route(); }
    // Trying again finds nothing new when the thing is not there.
    const again = e.code !== 'NOT_FOUND' && [h('button', { type: 'button', onclick: route }, 'Try again'), ' '];
    show(h('h1', { tabindex: '-1' }, e.code === 'NOT_FOUND' ? 'Not found' : 'Sorry'), h('div', { class: 'notice error', role: 'alert' }, h('p', {}, explain(e)),
      h('p', {}, again, h('a', { href: '/', 'data-nav': '' }, 'All events'))));
  });
}

// saleState is the sale as a fan sees it now (the server's rule: a
// scheduled sale is in presale from presale.opensAt and open from
// saleOpensAt), so a cached event stays right.
function saleState(ev) {
  if (ev.cancelled) return 'CANCELLED';
  const s = ev.sale?.status;
  if (s === 'OPEN' || s === 'PAUSED' || s === 'CLOSED') return s;
  if (s === 'SCHEDULED') {
    if (Date.now() >= Date.parse(ev.saleOpensAt)) return 'OPEN';
    return ev.presale && Date.now() >= Date.parse(ev.presale.opensAt) ? 'PRESALE' : 'SCHEDULED';
  }
  return ev.saleState;
}
const saleWords = { SCHEDULED: 'Sale not open yet', PRESALE: 'Presale: with a code', OPEN: 'On sale now', PAUSED: 'Sale paused', CLOSED: 'Sale closed', CANCELLED: 'Cancelled' };

const sectionName = (id, ev) => ev?.sections?.find(s => s.id === id)?.name || `Section ${id}`;
// standingWords names an order's standing places, saying "standing" once
// even when the section's name says it already.
function standingWords(o, ev) {
  const name = sectionName(o.section, ev);
  return `${o.quantity} × ${name}${/standing/i.test(name) ? '' : ' (standing)'}`;
}
function seatWords(seat, ev) {
  const [sec, a, b] = seat.split('-');
  return b ? `${sectionName(sec, ev)} · Row ${a} · Seat ${b}` : `${sectionName(sec, ev)} · Place ${a}`;
}

// ---------------------------------------------------------------- events

async function listPage() {
  document.title = 'StarArena';
  const { events } = await api('/v1/events', { signal: view.signal });
  const ul = h('ul', { class: 'cards' });
  for (const ev of events) {
    ul.append(h('li', { class: 'card' },
      h('h2', {}, h('a', { href: `/?event=${enc(ev.eventId)}`, 'data-nav': '' }, ev.name)),
      h('p', {}, ev.venue, ' · ', timeTag(ev.startsAt)),
      h('p', { class: 'badge', 'data-sale': saleState(ev) }, saleWords[saleState(ev)])));
  }
  show(h('h1', { tabindex: '-1' }, 'Events'), events.length ? ul : h('p', {}, 'No events yet.'));
}

async function eventPage(id) {
  const base = `/v1/events/${enc(id)}`;
  const [ev, av] = await Promise.all([
    api(base, { signal: view.signal }),
    api(`${base}/availability`, { signal: view.signal }).catch(e => { if (isStop(e)) throw e; return null; }),
  ]);
  document.title = `${ev.name} · StarArena`;
  const sale = h('p', { class: 'sale' });
  const panel = h('section', { class: 'panel', 'aria-labelledby': 'step' });
  show(h('h1', { tabindex: '-1' }, ev.name),
    h('p', { class: 'facts' }, h('span', {}, ev.venue), ' · ', timeTag(ev.startsAt)), sale, panel);
  // A cancelled event shows why and the fan's refunds instead of the
  // seats; a postponed one its new date above the sale (notice.js).
  if (ev.cancelled || ev.postponed) {
    const m = await import('./notice.js');
    if (ev.cancelled) return m.cancelledEvent(ev, panel, view);
    sale.before(m.postponedNote(ev));
  }
  journey(ev, av, sale, panel);
}

// journey is the fan's way through one event: intro → (sign in) → queue →
// your turn → admission → seats → hold (then the order page).
function journey(ev, av, saleEl, panel) {
  const base = `/v1/events/${enc(ev.eventId)}`;
  const queued = ev.queue?.mode === 'on';
  const fan = () => session('fan');
  const key = k => `stararena.${k}.${ev.eventId}.${fan()?.sub}`;
  let step = newScope(view);
  const authed = (path, o = {}) => api(path, { ...o, token: fan()?.token, signal: step.signal });
  const getMe = () => authed(`${base}/queue/me`);
  const getStatus = async () => {
    const s = await api(`${base}/queue-status`, { signal: step.signal });
    syncSale(s.saleState);
    return s;
  };
  // syncSale takes a newer sale state (the organizer may open early).
  function syncSale(st) {
    if (!st || st === saleState(ev)) return;
    ev.sale = { ...ev.sale, status: st };
    tickSale();
  }

  // The sale line, with a countdown to saleOpensAt.
  let shown = '';
  const timer = h('span', { role: 'timer' });
  function tickSale() {
    const st = saleState(ev);
    if (st !== shown) {
      if (shown) announce(st === 'OPEN' ? 'The sale is open.' : saleWords[st]);
      shown = st;
      saleEl.dataset.sale = st;
      saleEl.replaceChildren(...(st === 'SCHEDULED'
        ? ['Sale opens in ', timer, ' · ', timeTag(ev.saleOpensAt)]
        : st === 'PRESALE'
          ? ['Presale for code holders · public sale opens in ', timer, ' · ', timeTag(ev.saleOpensAt)]
          : [saleWords[st], queued ? ' · with a queue' : ' · no queue']));
    }
    if (st === 'SCHEDULED' || st === 'PRESALE') timer.textContent = countdown((Date.parse(ev.saleOpensAt) - Date.now()) / 1000);
  }
  tickSale();
  view.every(1000, tickSale);

  function setStep(title, ...kids) {
    step.stop();
    step = newScope(view);
    panel.replaceChildren(h('h2', { id: 'step', tabindex: '-1' }, title), ...kids.filter(Boolean));
    return step;
  }
  const focusStep = () => panel.querySelector('h2').focus();
  const notice = (text, ...more) => h('div', { class: 'notice error', role: 'alert' }, h('p', {}, text), ...more);
  const ordersLink = () => h('a', { href: '/?mine', 'data-nav': '' }, 'See My tickets');

  // run starts a step and turns its failures into plain words.
  function run(fn, ...args) {
    fn(...args).catch(e => {
      if (isStop(e)) return;
      if (e.code === 'UNAUTHORIZED') { signOut('fan'); renderWho(); return needFan(() => run(fn, ...args)); }
      setStep({ RATE_LIMITED: 'Please wait a moment', NETWORK: 'Connection problem' }[e.code] || 'Something went wrong', notice(explain(e), h('p', {}, h('button', { type: 'button', onclick: () => run(fn, ...args) }, 'Try again'))));
      focusStep();
    });
  }
  function needFan(then) {
    if (fan()) return then();
    setStep('Sign in', signInForm('fan', 'Sign in so that your place in the queue and your tickets belong to your account.', () => { renderWho(); then(); }));
    focusStep();
  }
  const sectionsTable = () => h('table', {},
    h('caption', {}, 'Sections and prices'),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Section'), h('th', { scope: 'col' }, 'Price'), h('th', { scope: 'col' }, 'Left'))),
    h('tbody', {}, ev.sections.map(s => {
      const a = av?.sections.find(x => x.id === s.id);
      return h('tr', {}, h('th', { scope: 'row' }, s.name, h('span', { class: 'hint' }, s.kind === 'ga' ? ' standing' : ' seated')),
        h('td', {}, money(s.priceCents, s.currency)), h('td', {}, a ? (a.available ? num(a.available) : 'None left') : '–'));
    })));

  // ---- intro: what the event offers and the one next step.
  async function intro(problem) {
    const st = saleState(ev);
    let action;
    if (st === 'CLOSED') action = [h('p', {}, 'The sale has closed.')];
    else if (st === 'PRESALE') action = [presaleForm()];
    else if (queued) {
      action = [h('p', {}, st === 'SCHEDULED'
        ? 'The waiting room is open. Everyone who joins before the sale opens gets a random place in the queue when it opens, so there is no need to rush.'
        : 'Tickets are sold through a queue. From now on places are first come, first served.'),
      h('button', { type: 'button', class: 'primary', onclick: () => needFan(() => run(join)) }, 'Join the queue')];
    } else if (st === 'OPEN' && soldOutNow()) {
      action = [h('p', {}, 'Sold out. Join the waiting list: when places come back, they are offered to the fans on it, first come, first served.'),
        h('button', { type: 'button', class: 'primary', onclick: () => needFan(() => run(waitlist, true)) }, 'Join the waiting list')];
    } else if (st === 'OPEN') {
      action = [h('p', {}, 'Tickets are on sale now, no queue needed.'),
        h('button', { type: 'button', class: 'primary', onclick: () => needFan(() => run(admit)) }, 'Choose seats')];
    } else if (st === 'SCHEDULED') {
      action = [h('p', {}, 'You can choose seats as soon as the sale opens. This page updates by itself.'),
        h('button', { type: 'button', class: 'primary', disabled: true }, 'Choose seats')];
    } else action = [h('p', {}, 'The sale is paused for a moment. You do not need to do anything: this page checks again by itself.')];
    const s = setStep('Tickets', problem, sectionsTable(), pricingNote(ev), ...action);
    if (!queued && st === 'SCHEDULED') s.after(Date.parse(ev.saleOpensAt) - Date.now() + 500, () => run(intro));
    // A presale window starts and ends on its own: show the code entry, then the public sale.
    if (st === 'SCHEDULED' && ev.presale) s.after(Date.parse(ev.presale.opensAt) - Date.now() + 500, () => run(intro));
    if (st === 'PRESALE') s.after(Date.parse(ev.saleOpensAt) - Date.now() + 500, () => run(intro));
    if (st === 'PAUSED') s.after(15000, () => run(async () => { Object.assign(ev, await api(base, { signal: step.signal })); await intro(); }));
    // Resume: a place, an admission or an order this account already has.
    if (!fan()) return;
    // A page that joined after the draw knows a bound of its place and
    // follows queue-status instead of reading it (ADR 9).
    const bound = typeof stored('bound') === 'number';
    const [me, orders] = await Promise.all([
      queued && st !== 'CLOSED' && !bound ? getMe().catch(() => null) : null,
      authed('/v1/me/orders').catch(() => null),
    ]);
    const mine = orders?.orders.filter(o => o.eventId === ev.eventId && !['EXPIRED', 'CANCELLED', 'REFUNDED'].includes(o.status));
    if (mine?.length) {
      panel.querySelector('h2').after(h('p', { class: 'notice' }, `You have ${mine.length === 1 ? 'an order' : `${mine.length} orders`} for this event. `,
        h('a', { href: `/?order=${enc(mine[0].orderId)}`, 'data-nav': '' }, 'View your order')));
    }
    const wl = st !== 'CLOSED' ? await authed(`${base}/waitlist`).catch(() => null) : null;
    if (wl && ['WAITING', 'OFFERED'].includes(wl.status)) return waitlist(false, wl);
    const adm = stored('adm');
    if (me && (me.state !== 'PENDING' || localStorage.getItem(key('joined')))) return waitingRoom(me);
    if (bound && queued && st !== 'CLOSED') return waitingRoom();
    if ((st === 'PRESALE' || (!queued && st === 'OPEN')) && adm && Date.parse(adm.expiresAt) > Date.now() + 5e3) return seats(adm);
  }

  // presaleForm takes a presale code: in the window it is the way in,
  // queue or not (the codes' uses bound the presale's crowd).
  function presaleForm() {
    const input = h('input', { id: 'presale-code', name: 'presaleCode', required: true, maxlength: '64', autocomplete: 'off',
      autocapitalize: 'characters', spellcheck: 'false', 'aria-describedby': 'presale-hint' });
    const form = h('form', { class: 'presale' },
      h('p', {}, 'This is the presale: until the public sale opens, tickets are for fans with a presale code.'),
      h('label', { for: input.id }, 'Presale code'), input,
      h('p', { class: 'hint', id: 'presale-hint' }, 'Sixteen letters and digits, as in 7K3M-Q9TX-2B4H-VR8N.'),
      h('button', { type: 'submit', class: 'primary' }, 'Use code and choose seats'));
    form.addEventListener('submit', e => {
      e.preventDefault();
      const code = input.value.trim();
      needFan(() => run(admit, code));
    });
    return form;
  }
  const stored = k => { try { return JSON.parse(localStorage.getItem(key(k))); } catch { return null; } };

  // ---- the waiting room.
  async function join() {
    setStep('Joining the queue', h('p', {}, 'One moment…'));
    // The WAF may ask for its challenge (the token expired: solve it again)
    // or, when the organizer raised the event's bot level, a CAPTCHA the
    // fan solves in the page; then the join is sent again.
    const send = async (tries = 3) => {
      try {
        return await authed(`${base}/queue`, { method: 'POST' });
      } catch (e) {
        if (e.code !== 'BOT_CHECK' || tries <= 1) throw e;
        if (e.details.action !== 'captcha') {
          await botToken();
        } else if (!canShowCaptcha()) {
          // A deploy-time CAPTCHA without the CAPTCHA API: the WAF
          // puzzles the event page itself, so reload it.
          return new Promise(() => location.reload());
        } else {
          const box = h('div', { class: 'captcha' });
          setStep('One more check', h('p', {}, 'Many bots are trying to join this sale, so we ask you to solve a puzzle to show you are a person.'), box);
          await botCaptcha(box);
          setStep('Joining the queue', h('p', {}, 'One moment…'));
        }
        return send(tries - 1);
      }
    };
    // Once drawn, the positions given before this account's first join
    // bound its place from below (a join sent later is placed later):
    // kept before sending, since a join whose answer is lost may count.
    const first = !localStorage.getItem(key('joined')) && stored('bound') == null;
    if (first) {
      const s = await getStatus().catch(e => { if (isStop(e)) throw e; return null; });
      if (s?.shuffleSeed) localStorage.setItem(key('bound'), String(s.positionsGiven ?? 0));
    }
    try {
      await botToken();
      await send();
    } catch (e) {
      if (e.code !== 'RATE_LIMITED') throw e; // too many joins: the place is kept
      if (first) localStorage.removeItem(key('bound')); // joined before, elsewhere: no bound
    }
    localStorage.setItem(key('joined'), '1');
    await waitingRoom();
  }

  // The waiting room's page lives in queue.js, loaded when a fan joins or
  // comes back to the queue.
  async function waitingRoom(me) {
    const m = await import('./queue.js');
    me = await m.waitingRoom({ ev, base, panel, setStep, getStatus, getMe, stored, fan }, me);
    if (me.state === 'ADMITTABLE') return yourTurn();
    if (me.state === 'ADMITTED') return admit();
    if (me.state === 'EXPIRED') return expired();
    return soldOut();
  }

  function yourTurn() {
    document.title = `Your turn · ${ev.name}`;
    setStep('It is your turn', h('p', {}, 'You have been let in. When you continue, you get a limited time to choose seats and hold them; the page shows how long.'),
      h('button', { type: 'button', class: 'primary', onclick: () => run(admit) }, 'Choose seats'));
    announce('It is your turn. Choose seats to continue.');
    panel.querySelector('button').focus();
  }
  function expired() {
    setStep('Your turn has passed', h('p', {}, 'Your admission ran out before it was used, and its slot went to the next person in the queue. Each place in the queue lets one account in once, so this account cannot buy for this event any more. We are sorry.'));
    focusStep();
  }
  function soldOut() {
    setStep('Sold out', h('p', {}, explain({ code: 'SOLD_OUT' })));
    focusStep();
  }
  async function used() {
    setStep('Your admission was used', h('p', {}, 'Your admission was used for a hold, so this account has had its turn: each place in the queue admits once. Your orders and tickets are under My tickets.'), h('p', {}, ordersLink()));
    focusStep();
  }

  // ---- the waiting list after sell-out (ADR 25): join, wait, and buy with
  // the offer when places come back. Offers come within a minute of a
  // return, so the page reads the entry every 15 s.
  const soldOutNow = () => !!av && av.sections.every(s => !s.available);
  async function waitlist(joinIt, wl) {
    if (joinIt) {
      setStep('Joining the waiting list', h('p', {}, 'One moment…'));
      try { wl = await authed(`${base}/waitlist`, { method: 'POST', body: {} }); } catch (e) {
        if (e.code === 'NOT_SOLD_OUT') { av = await api(`${base}/availability`, { signal: step.signal }); return intro(notice(explain(e))); }
        throw e;
      }
    }
    wl ??= await authed(`${base}/waitlist`).catch(e => { if (e.code === 'NOT_FOUND') return null; throw e; });
    if (!wl || !['WAITING', 'OFFERED'].includes(wl.status)) {
      const said = { USED: 'Your waiting-list offer was used for a hold.', EXPIRED: 'Your waiting-list offer ran out and passed to the next fan. You can join the list again, at the back.' }[wl?.status];
      setStep('Sold out', said && h('p', { class: 'notice' }, said), h('p', {}, explain({ code: 'WAITLIST_FIRST' })),
        h('button', { type: 'button', class: 'primary', onclick: () => run(waitlist, true) }, 'Join the waiting list'));
      return focusStep();
    }
    if (wl.status === 'OFFERED') {
      const adm = { admissionToken: wl.offer.admissionToken, expiresAt: wl.offer.expiresAt };
      setStep('Places came back for you', h('p', { class: 'offer' }, `You are next on the waiting list: ${wl.quantity} ${wl.quantity === 1 ? 'place is' : 'places are'} yours to buy until `, timeTag(wl.offer.expiresAt, clock(wl.offer.expiresAt)), '.'),
        h('p', {}, 'If you do not hold them by then, they pass to the next fan in line. We sent you an email too.'),
        h('button', { type: 'button', class: 'primary', onclick: () => run(async () => {
          av = await api(`${base}/availability`, { signal: step.signal });
          return seats(adm);
        }) }, 'Choose seats'));
      announce('Places came back for you. Choose seats to buy them.');
      return panel.querySelector('button').focus();
    }
    const s = setStep('You are on the waiting list',
      h('p', { class: 'waitlist-place', 'aria-live': 'polite' }, wl.ahead === 0 ? 'You are next in line.' : `${num(wl.ahead)} ${wl.ahead === 1 ? 'fan is' : 'fans are'} ahead of you.`),
      h('p', {}, `First come, first served: when places come back, the fans on the list are offered them in the order they joined (you asked for ${wl.quantity}). We email you, and this page shows the offer. Keep it open or come back later.`),
      h('button', { type: 'button', onclick: () => run(async () => {
        await authed(`${base}/waitlist`, { method: 'DELETE' });
        return intro(h('p', { class: 'notice' }, 'You left the waiting list.'));
      }) }, 'Leave the waiting list'));
    focusStep();
    s.after(15000, () => run(waitlist, false));
  }

  // ---- admission, then seats.
  // usedCode is the presale code that admitted this fan: asking again with
  // it takes no further use.
  let usedCode = '';
  async function admit(presaleCode) {
    setStep('Letting you in', h('p', {}, 'One moment…'));
    let adm;
    try {
      adm = await authed(`${base}/admission`, { method: 'POST', body: presaleCode ? { presaleCode } : {} });
    } catch (e) {
      const st = e.details?.state;
      if (e.code?.startsWith('PRESALE_CODE_')) return intro(notice(explain(e)));
      if (e.code === 'QUEUE_REQUIRED') return st === 'EXPIRED' ? expired() : st === 'ADMITTED' ? used() : st === 'NOT_IN_QUEUE' ? join() : waitingRoom();
      if (e.code === 'SOLD_OUT') return soldOut();
      if (e.code === 'WAITLIST_FIRST') return waitlist(false);
      if (e.code === 'SALE_NOT_OPEN') return queued ? waitingRoom() : intro(notice(explain(e)));
      throw e;
    }
    localStorage.setItem(key('adm'), JSON.stringify(adm));
    usedCode = presaleCode || '';
    if (!presaleCode) syncSale('OPEN');
    document.title = `${ev.name} · StarArena`;
    return seats(adm);
  }

  async function seats(adm) {
    const s = setStep('Choose your seats');
    const left = h('strong', { role: 'timer' });
    const detail = h('div', { class: 'pick' });
    const msg = h('div', { class: 'msg' });
    // The seat picker and the venue map load with the seats, not with the
    // event page.
    const [{ sectionList, seatChoice, seatGrid, accessibleFilter }, { venueMap }] = await Promise.all([import('./seatmap.js'), import('./venuemap.js')]);
    const list = sectionList(ev, sec => choose(sec, true));
    const map = venueMap(ev, sec => choose(sec, false));
    detail.append(map.el);
    // What this account may still buy: the limit less the places its
    // live orders for this event hold or bought.
    let used = 0;
    const mayBuy = () => Math.max(0, ev.maxTicketsPerAccount - used);
    async function countUsed() {
      const r = await authed('/v1/me/orders').catch(e => { if (isStop(e)) throw e; return null; });
      if (!r) return;
      used = r.orders.filter(o => o.eventId === ev.eventId && ['PENDING_PAYMENT', 'PAID', 'ISSUED', 'ISSUE_FAILED', 'REFUND_PENDING'].includes(o.status))
        .reduce((n, o) => n + (o.seats.length || o.quantity || 0), 0);
    }
    await countUsed();
    const allowance = () => used
      ? `This account can buy ${mayBuy()} more ticket${mayBuy() === 1 ? '' : 's'} for this event (the limit is ${ev.maxTicketsPerAccount} per account; it holds or bought ${used}).`
      : `Up to ${ev.maxTicketsPerAccount} ticket${ev.maxTicketsPerAccount === 1 ? '' : 's'} per account.`;
    panel.append(h('p', { class: 'admission' }, 'Your admission is valid for ', left, '. Hold seats before it runs out.'),
      h('h3', {}, 'Sections'), list.el, detail, msg);
    focusStep();
    const tick = () => {
      const t = (Date.parse(adm.expiresAt) - Date.now()) / 1000;
      left.textContent = countdown(t);
      if (t <= 0 && queued) left.textContent = '00:00 (ran out)';
    };
    tick();
    s.every(1000, tick);

    let picker = null, current = null, busy = false;
    const showMsg = (text, ...more) => msg.replaceChildren(notice(text, ...more));
    async function refresh() {
      if (busy) return;
      busy = true;
      try {
        av = await api(`${base}/availability`, { signal: s.signal });
        list.update(av);
        map.update(av);
        picker?.update(av.seats, av.asOf);
        if (current) detailCounts();
      } catch (e) { if (isStop(e)) return; } finally { busy = false; }
    }
    let detailCounts = () => {};
    function choose(sec, focus) {
      current = sec;
      picker = null;
      list.select(sec.id);
      msg.replaceChildren();
      const a = () => av.sections.find(x => x.id === sec.id) || { available: 0 };
      const max = () => Math.max(0, Math.min(mayBuy(), a().available));
      const qty = h('select', { id: 'qty' });
      const fillQty = () => {
        const keep = qty.value;
        qty.replaceChildren(...Array.from({ length: max() }, (_, i) => h('option', { value: String(i + 1) }, String(i + 1))));
        if (keep && +keep <= max()) qty.value = keep;
      };
      fillQty();
      const price = money(sec.priceCents, sec.currency);
      const heading = h('h3', { tabindex: '-1' }, `${sec.name} · ${price} each`);
      const limit = h('p', { class: 'hint allowance' }, allowance());
      if (sec.kind === 'ga') {
        map.zoom(sec);
        const btn = h('button', { type: 'button', class: 'primary' }, 'Hold places');
        const label = () => { btn.textContent = `Hold ${qty.value || 0} place${qty.value === '1' ? '' : 's'}`; btn.disabled = !max(); };
        qty.addEventListener('change', label);
        btn.addEventListener('click', () => hold({ section: sec.id, quantity: +qty.value }, btn));
        detailCounts = () => { fillQty(); label(); limit.textContent = allowance(); };
        label();
        detail.replaceChildren(heading, map.el, pricingNote(ev) || '', h('p', {}, 'Standing: no seat numbers. '), limit,
          h('p', { class: 'row hold-bar' }, h('label', { for: 'qty' }, 'How many places? '), qty, ' ', btn));
      } else {
        const best = h('button', { type: 'button' }, 'Hold the best available');
        best.addEventListener('click', () => hold({ section: sec.id, quantity: +qty.value }, best));
        const chosen = h('p', { class: 'chosen', 'aria-live': 'polite' });
        const holdBtn = h('button', { type: 'button', class: 'primary', disabled: true }, 'Hold chosen seats');
        let picked = [];
        const choice = seatChoice(sec, mayBuy(), (ids, note) => {
          picked = ids;
          chosen.textContent = note || (ids.length ? `Your choice: ${ids.join(', ')} · ${money(sec.priceCents * ids.length, sec.currency)}` : 'No seats chosen yet.');
          holdBtn.textContent = ids.length ? `Hold ${ids.length} seat${ids.length === 1 ? '' : 's'}` : 'Hold chosen seats';
          holdBtn.disabled = !ids.length;
        });
        picker = choice;
        choice.update(av.seats, av.asOf);
        map.zoom(sec, choice);
        chosen.textContent = 'No seats chosen yet.';
        holdBtn.addEventListener('click', () => hold({ seats: picked }, holdBtn));
        // The list of seats is the same choice as buttons in rows: built
        // when asked for, since a large section makes thousands of them.
        const listBox = h('div', { class: 'seat-list', hidden: true });
        const asList = h('button', { type: 'button', class: 'secondary', 'aria-pressed': 'false', 'aria-controls': 'seat-list' }, 'Show the seats as a list');
        listBox.id = 'seat-list';
        asList.addEventListener('click', () => {
          const on = asList.getAttribute('aria-pressed') !== 'true';
          if (on && !listBox.firstChild) listBox.append(seatGrid(choice).el);
          asList.setAttribute('aria-pressed', String(on));
          asList.textContent = on ? 'Show the seats on the map' : 'Show the seats as a list';
          listBox.hidden = !on;
          map.el.hidden = on;
        });
        detailCounts = () => { fillQty(); best.disabled = !max(); choice.max = mayBuy(); limit.textContent = allowance(); };
        detailCounts();
        detail.replaceChildren(heading, pricingNote(ev) || '',
          h('p', { class: 'row' }, h('label', { for: 'qty' }, 'Best available: how many seats? '), qty, ' ', best),
          limit,
          h('p', { class: 'row' }, 'Or choose seats on the map or in the list. ', asList),
          choice.marked ? accessibleFilter(choice, [map.el, listBox]) : '',
          h('ul', { class: 'legend', 'aria-label': 'Seat colours' },
            h('li', { 'data-state': 'available' }, 'Available'), h('li', { 'data-state': 'held' }, 'Held'),
            h('li', { 'data-state': 'sold' }, 'Sold'), h('li', { 'data-state': 'unavailable' }, 'Not on sale'),
            h('li', { 'data-state': 'picked' }, 'Your choice'), choice.marked && h('li', { 'data-mark': 'wheelchair' }, 'Wheelchair space')),
          map.el, listBox, h('div', { class: 'hold-bar' }, chosen, holdBtn));
        map.el.hidden = false;
      }
      if (focus) heading.focus();
    }

    async function hold(body, btn) {
      msg.replaceChildren();
      btn.disabled = true;
      btn.setAttribute('aria-busy', 'true');
      const idem = crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random()}`;
      try {
        let o;
        for (let i = 0; ; i++) {
          try {
            o = await authed(`${base}/holds`, { method: 'POST', body: { admissionToken: adm.admissionToken, ...body }, headers: { 'Idempotency-Key': idem } });
            break;
          } catch (e) {
            if (e.code !== 'NETWORK' || i === 2) throw e;
            await s.sleep(1000); // same key: a retry can never hold twice
          }
        }
        localStorage.removeItem(key('adm'));
        go(`/?order=${enc(o.orderId)}`);
      } catch (e) {
        if (isStop(e)) return;
        btn.disabled = false;
        btn.removeAttribute('aria-busy');
        if (e.code === 'SEATS_UNAVAILABLE') {
          picker?.taken(e.details.seats || []);
          showMsg(explain(e));
          return refresh();
        }
        if (e.code === 'ADMISSION_INVALID') {
          if (!queued) {
            try {
              adm = await authed(`${base}/admission`, { method: 'POST', body: usedCode ? { presaleCode: usedCode } : {} });
              localStorage.setItem(key('adm'), JSON.stringify(adm));
              return showMsg('Your admission had run out, so we got you a new one. Please try again.');
            } catch (x) { return showMsg(explain(x)); }
          }
          return Date.parse(adm.expiresAt) <= Date.now()
            ? showMsg('Your time to choose seats ran out before the hold, and the slot went to the next person in the queue. Each place in the queue lets one account in once, so this account cannot buy for this event any more.')
            : showMsg('This admission was already used for a hold, perhaps in another tab. Each place in the queue admits once.', h('p', {}, ordersLink()));
        }
        if (e.code === 'RATE_LIMITED') {
          btn.disabled = true;
          s.after(1000 * (e.details.retryAfterSeconds || 30), () => { btn.disabled = false; });
        }
        if (e.code === 'UNAUTHORIZED') { signOut('fan'); renderWho(); }
        if (e.code === 'LIMIT_EXCEEDED') {
          await countUsed();
          detailCounts();
          return showMsg(mayBuy() ? `${allowance()} Choose fewer and try again.` : explain(e), h('p', {}, ordersLink()));
        }
        showMsg(explain(e));
      }
    }

    await refresh();
    if (ev.sections.length === 1) choose(ev.sections[0], false);
    // Every 5 s (the projection is at most 2 s old); slower for huge maps.
    s.every(1000 * clamp(Object.keys(av.seats || {}).length / 2000, 5, 15), refresh);
  }

  run(intro);
}

// ---------------------------------------------------------------- orders

// calendarLink offers the event as an iCalendar file (RFC 5545). Events
// state no end, so the entry lasts three hours.
function calendarLink(ev) {
  const t = d => new Date(d).toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '');
  const esc = v => String(v).replace(/[\\;,]/g, m => `\\${m}`).replace(/\n/g, '\\n');
  const ics = ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//StarArena//Tickets//EN', 'BEGIN:VEVENT',
    `UID:${ev.eventId}@stararena`, `DTSTAMP:${t(Date.now())}`, `DTSTART:${t(ev.startsAt)}`, `DTEND:${t(Date.parse(ev.startsAt) + 3 * 3600e3)}`,
    `SUMMARY:${esc(ev.name)}`, `LOCATION:${esc(ev.venue)}`, `URL:${location.origin}/?event=${enc(ev.eventId)}`, 'END:VEVENT', 'END:VCALENDAR', ''].join('\r\n');
  return h('p', {}, h('a', { class: 'button secondary', download: `${ev.name.replace(/[^\w -]+/g, '').trim() || 'event'}.ics`,
    href: `data:text/calendar;charset=utf-8,${enc(ics)}` }, 'Add to calendar'));
}

const orderWords = {
  PENDING_PAYMENT: 'Held, waiting for payment', PAID: 'Paid, issuing tickets', ISSUED: 'Tickets ready',
  ISSUE_FAILED: 'Paid, tickets delayed', EXPIRED: 'Hold ended', CANCELLED: 'Released', REFUND_PENDING: 'Refund in progress', REFUNDED: 'Refunded',
};

async function orderPage(id) {
  document.title = 'Your order · StarArena';
  let s = session('fan');
  if (!s) {
    return show(h('h1', { tabindex: '-1' }, 'Your order'), signInForm('fan', 'Sign in to see your order.', () => route()));
  }
  const path = `/v1/orders/${enc(id)}`;
  const get = () => api(path, { token: s.token, signal: view.signal });
  let o = await get();
  const ev = await api(`/v1/events/${enc(o.eventId)}`, { signal: view.signal }).catch(e => { if (isStop(e)) throw e; return null; });
  const state = h('p', { class: 'state', role: 'status' });
  const body = h('div', {});
  const timer = h('strong', { role: 'timer' });
  const places = o.seats.length ? 'seats' : 'places';
  const held = h('p', { class: 'held', hidden: true }, `Your ${places} are held for `, timer, '.');
  const refund = h('div', {});
  const life = h('div', {}); // a cancelled or postponed event's notice
  let lifeNote = null;
  if (ev?.cancelled || ev?.postponed) {
    import('./notice.js').then(m => {
      lifeNote = () => life.replaceChildren(m.orderNotice(ev, o, () => route(), view));
      if (view.live) lifeNote();
    });
  }
  show(h('h1', { tabindex: '-1' }, ev ? ev.name : 'Your order'),
    ev && h('p', { class: 'facts' }, ev.venue, ' · ', timeTag(ev.startsAt)),
    h('section', { class: 'panel', 'aria-labelledby': 'order-h' },
      h('h2', { id: 'order-h' }, 'Your order'),
      h('ul', { class: 'places' }, o.seats.length ? o.seats.map(x => h('li', {}, seatWords(x, ev))) : h('li', {}, standingWords(o, ev))),
      breakdown(o), refund, life,
      held, state, body));

  const payKey = `stararena.paying.${id}`;
  let paying = Number(sessionStorage.getItem(payKey)) || 0;
  // A decline the fan has not paid again after (lastDecline counts the
  // refused attempts; seen is the count when they last pressed pay, in
  // localStorage so the pay page's tab, back on the order, knows it).
  const seenKey = `stararena.declines.${id}`;
  let seen = Number(localStorage.getItem(seenKey)) || 0;
  const declined = () => (o.lastDecline?.attempts || 0) > seen;
  let payLink = null;
  let last = '';
  const say = text => { if (state.textContent !== text) state.textContent = text; };
  const back = () => h('p', {}, h('a', { href: `/?event=${enc(o.eventId)}`, 'data-nav': '' }, 'Back to the event'));

  // config.json names the provider (internal/payments/providers): one with a
  // script takes the payment in this page, any other on its own page.
  async function payment() {
    const pay = cfg.payment?.provider && cfg.payment.provider !== 'none' ? cfg.payment : { provider: 'sandbox' };
    const p = await api(`${path}/payments`, { method: 'POST', token: s.token, signal: view.signal, body: { provider: pay.provider } });
    const release = h('button', { type: 'button', class: 'secondary', onclick: cancel }, `Release these ${places}`);
    const started = () => {
      paying = Date.now();
      seen = o.lastDecline?.attempts || 0;
      sessionStorage.setItem(payKey, String(paying));
      localStorage.setItem(seenKey, String(seen));
      tick();
    };
    if (/^pay-[a-z0-9-]+\.js$/.test(pay.script || '')) {
      const { payForm } = await import(`./${pay.script}`);
      body.replaceChildren(await payForm({ config: pay, payment: p,
        label: `Pay ${money(o.amountCents, o.currency)}`, returnUrl: location.href, onPaid: started }), release);
      return;
    }
    payLink = h('a', { class: 'button primary', href: p.checkoutUrl, target: '_blank', rel: 'noopener', onclick: started }, `Pay ${money(o.amountCents, o.currency)}`);
    body.replaceChildren(
      h('p', {}, payLink),
      h('p', { class: 'hint' }, 'Opens the payment page in a new tab. Come back to this tab afterwards: it updates by itself.'),
      release);
  }
  async function cancel(e) {
    e.target.disabled = true;
    try { o = await api(path, { method: 'DELETE', token: s.token, signal: view.signal }); } catch (x) {
      if (isStop(x)) return;
      e.target.disabled = false;
      return body.append(h('div', { class: 'notice error', role: 'alert' }, h('p', {}, x.code === 'INVALID_STATE' ? 'This order can no longer be released: a payment has already arrived.' : explain(x))));
    }
    render();
  }
  function tick() {
    if (o.status !== 'PENDING_PAYMENT') return;
    const t = (Date.parse(o.expiresAt) - Date.now()) / 1000;
    timer.textContent = countdown(t);
    if (payLink) payLink.textContent = declined() ? 'Pay again' : `Pay ${money(o.amountCents, o.currency)}`;
    state.dataset.declined = t > 0 && declined() ? 'true' : 'false';
    if (t <= 0) say('Your hold time is over. Checking whether a payment arrived in time…');
    else if (declined()) say(declineWords(o.lastDecline, o.expiresAt));
    else if (!paying) say('');
    else if (Date.now() - paying < 60e3) say('Waiting for the payment provider to confirm your payment. This usually takes a few seconds after you pay.');
    else say('Still waiting for the payment provider. If you paid, you will get your tickets or an automatic refund; you are never charged twice for one order.');
  }
  async function render() {
    if (o.status !== last) {
      last = o.status;
      switch (o.status) {
        case 'PENDING_PAYMENT':
          body.replaceChildren(h('p', {}, 'Preparing the payment…'));
          try { await payment(); } catch (e) {
            if (isStop(e)) throw e;
            last = '';
            body.replaceChildren(h('div', { class: 'notice error', role: 'alert' }, h('p', {}, explain(e))));
          }
          break;
        case 'PAID':
          body.replaceChildren();
          say('Payment confirmed. Issuing your tickets… this usually takes a few seconds.');
          break;
        case 'ISSUE_FAILED':
          body.replaceChildren();
          say('Your payment is confirmed. Issuing the tickets is taking longer than usual; we keep retrying by ourselves and you do not need to pay again. The tickets will appear under My tickets.');
          break;
        case 'ISSUED': {
          sessionStorage.removeItem(payKey);
          localStorage.removeItem(seenKey);
          const ts = o.tickets?.length ? o.tickets : await api(`${path}/tickets`, { token: s.token, signal: view.signal });
          // The live codes' drawing loads only with the tickets (ADR 28).
          const { ticketCard } = await import('./rotating.js');
          say(`Your ticket${ts.length === 1 ? ' is' : 's are'} ready. Show the live QR code on this page at the door: it changes every 30 seconds, so a screenshot will not get in.`);
          body.replaceChildren(h('ul', { class: 'tickets' }, ts.map(t => {
            const li = ticketCard(t, seatWords(t.seat, ev), view);
            if (t.status === 'VALID') li.append(h('div', { 'data-transfer': t.ticketId }));
            return li;
          })), ...(ev ? [calendarLink(ev)] : []));
          withTransfers(m => m.ticketActions(body, { token: s.token, signal: view.signal,
            seatOf: id => seatWords(ts.find(t => t.ticketId === id).seat, ev) }));
          break;
        }
        case 'EXPIRED':
          body.replaceChildren(back());
          say(paying ? `Your hold ended before the payment was confirmed, so the ${places} were released. If your payment goes through, we either hold the same ${places} for you again or refund you automatically.`
            : `Your hold ended before a payment arrived, so the ${places} were released. Nothing was charged.`);
          break;
        case 'CANCELLED':
          body.replaceChildren(back());
          say(`You released these ${places}. Nothing was charged.`);
          break;
        default:
          body.replaceChildren(back());
          say(o.status === 'REFUNDED' ? 'This order was refunded.' : 'Your payment is being refunded.');
      }
      refund.replaceChildren(refundDetails(o) || '');
      lifeNote?.();
      held.hidden = o.status !== 'PENDING_PAYMENT';
    }
    markOffline();
    tick();
  }
  view.every(1000, tick);
  for (;;) {
    await render();
    const wait = {
      PENDING_PAYMENT: paying ? 2000 : 5000, PAID: 2000, ISSUE_FAILED: 10000, REFUND_PENDING: 10000, EXPIRED: paying ? 10000 : 0,
    }[o.status];
    if (!wait) break;
    await view.sleep(wait);
    o = await get();
  }
}

async function minePage() {
  document.title = 'My tickets · StarArena';
  const s = session('fan');
  if (!s) return show(h('h1', { tabindex: '-1' }, 'My tickets'), signInForm('fan', 'Sign in to see your orders and tickets.', () => route()));
  const [{ orders }, list] = await Promise.all([api('/v1/me/orders', { token: s.token, signal: view.signal }),
    api('/v1/events', { signal: view.signal }).catch(e => { if (isStop(e)) throw e; return { events: [] }; })]);
  const events = Object.fromEntries(list.events.map(e => [e.eventId, e]));
  const ul = h('ul', { class: 'cards' });
  for (const o of orders.sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt))) {
    ul.append(h('li', { class: 'card' },
      h('h2', {}, h('a', { href: `/?order=${enc(o.orderId)}`, 'data-nav': '' }, `${events[o.eventId]?.name || `Event ${o.eventId}`}`)),
      o.seats.length ? h('ul', { class: 'places' }, o.seats.map(x => h('li', {}, seatWords(x, events[o.eventId])))) : h('p', {}, standingWords(o, events[o.eventId])),
      h('p', {}, `${money(o.amountCents, o.currency)} · ordered ${when(o.createdAt)}`),
      h('p', { class: 'badge', 'data-order': o.status }, orderWords[o.status] || o.status)));
  }
  const received = h('section', { 'aria-label': 'Transfers' });
  show(h('h1', { tabindex: '-1' }, 'My tickets'), orders.length ? ul : h('p', {}, 'No orders yet. ', h('a', { href: '/', 'data-nav': '' }, 'Find an event')), received);
  markOffline();
  withTransfers(m => m.transfersPanel(received, { token: s.token, signal: view.signal, scope: view, nameOf: id => events[id]?.name || `Event ${id}` }));
}

// Ticket transfers (transfer.js) load only on the pages that show tickets.
function withTransfers(use) {
  import('./transfer.js').then(use).catch(e => { if (!isStop(e)) console.error('transfers', e); });
}

route();
