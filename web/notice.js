// What a fan sees of a cancelled or postponed event (ADR 20): a banner
// instead of the seats when it is cancelled, with what happens to the fan's
// money; the new date when it is postponed, and on the fan's order the
// refund they may ask for until the organizer's deadline. Loaded only for
// such events.
import { h, api, enc, isStop, session, money, timeTag, explain } from './lib.js';

// Captured payments: the orders a cancellation refunds and a postponement
// lets the buyer refund.
const PAID = ['PAID', 'ISSUED', 'ISSUE_FAILED', 'REFUND_PENDING'];

// payment says what happens to one order's money once the event is
// cancelled.
function payment(o) {
  const r = o.refund;
  const amount = h('strong', {}, money(r?.amountCents ?? o.amountCents, o.currency));
  if (r?.status === 'REFUNDED') return ['Your payment of ', amount, ' was refunded', r.refundedAt ? [' on ', timeTag(r.refundedAt)] : '', '.'];
  if (r || PAID.includes(o.status)) return ['Your payment of ', amount, ' is being refunded to the card you paid with; you do not need to do anything.'];
  return null;
}

// cancelledBanner is the cancellation notice, with the fan's orders' money.
function cancelledBanner(ev, orders) {
  const lines = orders.map(payment).filter(Boolean);
  return h('div', { class: 'notice error cancelled', role: 'alert', 'data-event': 'cancelled' },
    h('p', {}, h('strong', {}, 'This event is cancelled.'), ` ${ev.cancelled.reason}`),
    ...(lines.length ? lines.map(l => h('p', { class: 'refund-line' }, ...l))
      : [h('p', {}, 'Anyone who paid for tickets is refunded in full automatically, and their tickets no longer work.')]));
}

// cancelledEvent replaces the event page's tickets panel with the banner
// and the fan's refunds.
export async function cancelledEvent(ev, panel, scope) {
  const fan = session('fan');
  let mine = [];
  if (fan) {
    try {
      const { orders } = await api('/v1/me/orders', { token: fan.token, signal: scope.signal });
      mine = orders.filter(o => o.eventId === ev.eventId);
    } catch (e) { if (isStop(e)) throw e; }
  }
  panel.replaceChildren(h('h2', { id: 'step', tabindex: '-1' }, 'Cancelled'), cancelledBanner(ev, mine),
    ...mine.map(o => h('p', {}, h('a', { href: `/?order=${enc(o.orderId)}`, 'data-nav': '' }, 'View your order'))).slice(0, 1));
}

// postponedNote is the new date under the event's name.
export function postponedNote(ev) {
  return h('div', { class: 'notice postponed', 'data-event': 'postponed' },
    h('p', {}, h('strong', {}, 'New date: '), timeTag(ev.startsAt), ' (was ', timeTag(ev.postponed.from), ').'),
    h('p', {}, 'Tickets already bought stay valid for the new date.'));
}

// orderNotice is what an order's page says of its event's cancellation or
// postponement; a postponed event's paid order offers the refund until
// the window closes. done is called with the order after a refund.
export function orderNotice(ev, o, done, scope) {
  if (ev.cancelled) return cancelledBanner(ev, [o]);
  const box = postponedNote(ev);
  if (!PAID.includes(o.status) || o.status === 'REFUND_PENDING') return box;
  const until = Date.parse(ev.postponed.refundUntil);
  if (Date.now() > until) {
    box.append(h('p', { 'data-refund-window': 'closed' }, 'The refund window for the new date closed on ', timeTag(until), '.'));
    return box;
  }
  const msg = h('div', { role: 'status' });
  const ask = h('button', { type: 'button', class: 'secondary', id: 'ask-refund' }, `Ask for a refund of ${money(o.amountCents, o.currency)}`);
  const sure = h('button', { type: 'button', class: 'danger', id: 'confirm-refund' }, 'Yes, refund my order');
  ask.addEventListener('click', () => {
    msg.replaceChildren(h('p', {}, 'Your tickets stop working at once and the whole order is refunded to the card you paid with. This cannot be undone.'),
      h('p', {}, sure, ' ', h('button', { type: 'button', onclick: () => msg.replaceChildren() }, 'Keep my tickets')));
    sure.focus();
  });
  sure.addEventListener('click', async () => {
    sure.disabled = true;
    try {
      done(await api(`/v1/orders/${enc(o.orderId)}/refund`, { method: 'POST', token: session('fan')?.token, signal: scope.signal }));
    } catch (e) {
      if (isStop(e)) return;
      sure.disabled = false;
      msg.replaceChildren(h('p', { class: 'error', role: 'alert' }, e.code === 'REFUND_WINDOW_CLOSED'
        ? 'The refund window has closed: your tickets stay valid for the new date.' : explain(e)));
    }
  });
  box.append(h('p', { 'data-refund-window': 'open' }, 'If you cannot come on the new date, you may ask for a full refund until ', timeTag(until), '.'),
    h('p', {}, ask), msg);
  return box;
}
