// Fees, taxes, refunds and declined payments as fans and organizers read
// them (ADR 26). Every amount arrives in minor units; this module only
// formats them.
import { h, money, timeTag } from './lib.js';

// percent writes a rate in basis points: 2000 is "20 %", 550 "5.5 %".
export const percent = bp => `${new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 }).format(bp / 100)} %`;

// pricingNote says what an event adds to, or includes in, its prices; null
// when it charges the face value only.
export function pricingNote(ev) {
  const p = ev.pricing;
  if (!p || (!p.feeCents && !p.taxBasisPoints)) return null;
  const parts = [];
  if (p.feeCents) parts.push(`a service fee of ${money(p.feeCents, ev.currency)} per ticket is added`);
  if (p.taxBasisPoints) {
    parts.push(p.taxMode === 'inclusive' ? `prices${p.feeCents ? ' and fees' : ''} include ${percent(p.taxBasisPoints)} tax`
      : `${percent(p.taxBasisPoints)} tax is added`);
  }
  const text = parts.join('; ');
  return h('p', { class: 'pricing-note hint', 'data-pricing': '' }, text[0].toUpperCase() + text.slice(1) + '.');
}

// breakdown is an order's price line by line: face value, fees, tax, total.
export function breakdown(o) {
  const b = o.breakdown || { faceValueCents: o.amountCents, feeCents: 0, taxCents: 0, totalCents: o.amountCents, taxBasisPoints: 0 };
  const row = (label, cents, key) => h('tr', { 'data-line': key }, h('th', { scope: 'row' }, label), h('td', {}, money(cents, o.currency)));
  const rows = [row('Tickets (face value)', b.faceValueCents, 'face')];
  if (b.feeCents) rows.push(row('Service fees', b.feeCents, 'fees'));
  if (b.taxBasisPoints) {
    rows.push(row(b.taxMode === 'inclusive' ? `Tax ${percent(b.taxBasisPoints)} (included)` : `Tax ${percent(b.taxBasisPoints)}`, b.taxCents, 'tax'));
  }
  rows.push(h('tr', { 'data-line': 'total', class: 'total' }, h('th', { scope: 'row' }, 'Total'), h('td', {}, h('strong', {}, money(b.totalCents, o.currency)))));
  return h('table', { class: 'breakdown' }, h('caption', {}, 'Price'), h('tbody', {}, rows));
}

// refundDetails tells how much an order's refund returns, when and why;
// null for an order without one.
export function refundDetails(o) {
  const r = o.refund;
  if (!r) return null;
  return h('div', { class: 'notice refund', 'data-refund': r.status },
    h('p', {}, r.status === 'REFUNDED' ? 'Refunded ' : 'Being refunded: ', h('strong', {}, money(r.amountCents, r.currency)),
      r.status === 'REFUNDED' && r.refundedAt ? [' on ', timeTag(r.refundedAt)] : [' (asked ', timeTag(r.requestedAt), ')'], '.'),
    h('p', {}, 'Reason: ', r.reason));
}

// Reasons of the commonest decline codes, in a fan's words; any other code
// falls back to the provider's own sentence.
const declined = {
  generic_decline: 'your bank gave no reason', card_declined: 'your bank gave no reason', do_not_honor: 'your bank gave no reason',
  insufficient_funds: 'insufficient funds', expired_card: 'the card has expired', incorrect_cvc: 'the security code was wrong',
  lost_card: 'the card is reported lost', stolen_card: 'the card is reported stolen', card_velocity_exceeded: 'the card\'s limit was reached',
};

// declineWords tells a fan that the last attempt was refused, why, and
// until when the hold lets them pay again.
export function declineWords(d, until) {
  const why = declined[d.code] || d.reason?.replace(/\.$/, '') || 'no reason given';
  const hhmm = new Date(until).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
  return `Your card was declined (${why}). You can pay again until ${hhmm}.`;
}
