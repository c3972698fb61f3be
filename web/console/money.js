// The console's money: an event's fee and tax (on creation and later), the
// report's split of revenue into face value, fees and tax, and an order's
// price and refund as the box office looks it up (ADR 26).
import { h, api, enc, isStop, session, money, minorDigits, explain } from '/lib.js';
import { percent, breakdown, refundDetails } from '/price.js';

const call = (path, o = {}) => api(path, { ...o, token: session('organizer')?.token });
const minor = (value, currency) => Math.round(Number(value || 0) * 10 ** minorDigits(currency));
const major = (cents, currency) => (cents / 10 ** minorDigits(currency)).toFixed(minorDigits(currency));

// pricingInputs are the fields of a fee and tax setting, filled from p.
function pricingInputs(prefix, p, currency) {
  const fee = h('input', { id: `${prefix}-fee`, type: 'number', min: '0', step: 'any', value: p ? major(p.feeCents || 0, currency) : '0' });
  const tax = h('input', { id: `${prefix}-tax`, type: 'number', min: '0', max: '50', step: '0.01', value: p ? String((p.taxBasisPoints || 0) / 100) : '0' });
  const mode = h('select', { id: `${prefix}-mode` },
    h('option', { value: 'inclusive' }, 'included in prices and fees'), h('option', { value: 'exclusive' }, 'added on top'));
  mode.value = p?.taxMode || 'inclusive';
  const seller = h('input', { id: `${prefix}-seller`, maxlength: '200', value: p?.seller || '', placeholder: 'your organization' });
  return {
    fields: [h('label', { for: fee.id }, 'Service fee per ticket '), fee, ' ', h('label', { for: tax.id }, 'Tax rate (%) '), tax, ' ',
      h('label', { for: mode.id }, 'Tax is '), mode, ' ', h('label', { for: seller.id }, 'Seller on receipts '), seller],
    body: cur => {
      const bp = Math.round(Number(tax.value || 0) * 100);
      return { feeCents: minor(fee.value, cur), taxBasisPoints: bp, ...(bp ? { taxMode: mode.value } : {}), seller: seller.value.trim() };
    },
  };
}

// createPricing adds the fee and tax fields to the create form and returns
// what to send for them (undefined when nothing is charged on top).
export function createPricing(container) {
  const p = pricingInputs('create-pricing', null, 'EUR');
  container.replaceChildren(h('legend', {}, 'Fees and tax'),
    h('p', { class: 'hint' }, 'Optional. The fee is charged per ticket; the tax applies to prices and fees. Receipts show each line.'),
    h('p', { class: 'row' }, ...p.fields));
  return currency => {
    const b = p.body(currency);
    return b.feeCents || b.taxBasisPoints || b.seller ? b : undefined;
  };
}

// pricingPanel shows and changes an event's fee and tax; the change applies
// to holds placed from then on.
export function pricingPanel(base, ev, s) {
  const p = pricingInputs('pricing', ev.pricing, ev.currency);
  const now = h('p', { id: 'pricing-now' });
  const msg = h('p', { role: 'status', class: 'hint', id: 'pricing-msg' });
  const show = () => {
    const q = ev.pricing;
    now.textContent = !q ? 'Face value only: no fee, no tax.'
      : [q.feeCents ? `Fee ${money(q.feeCents, ev.currency)} per ticket` : 'No fee',
        q.taxBasisPoints ? `tax ${percent(q.taxBasisPoints)} ${q.taxMode === 'inclusive' ? 'included' : 'on top'}` : 'no tax',
        q.seller ? `sold by ${q.seller}` : null].filter(Boolean).join(' · ') + '.';
  };
  const form = h('form', { class: 'row', id: 'pricing-form' }, ...p.fields, ' ', h('button', { type: 'submit' }, 'Set fees and tax'));
  form.addEventListener('submit', async e => {
    e.preventDefault();
    msg.textContent = 'Saving…';
    try {
      Object.assign(ev, await call(`${base}/pricing`, { method: 'POST', signal: s.signal, body: p.body(ev.currency) }));
      if (!('pricing' in ev) || !ev.pricing) ev.pricing = undefined;
      show();
      msg.textContent = 'Saved. Holds placed from now on use it; earlier orders keep their price.';
    } catch (x) { if (!isStop(x)) msg.textContent = `Not changed: ${explain(x)}`; }
  });
  show();
  return h('section', { 'aria-labelledby': 'pricing-h' }, h('h3', { id: 'pricing-h' }, 'Fees and tax'), now, form, msg);
}

// revenueNote splits the report's revenue and refunds into face value,
// fees and tax.
export function revenueNote(r, currency) {
  const m = c => money(c, currency);
  const split = x => x && (x.feeCents || x.taxCents) ? ` (face value ${m(x.faceValueCents)}, fees ${m(x.feeCents)}, tax ${m(x.taxCents)})` : '';
  const parts = [];
  if (r.revenue && (r.revenue.feeCents || r.revenue.taxCents)) parts.push(split(r.revenue).trim());
  if (r.refundedCents) parts.push(`${m(r.refundedCents)} refunded${split(r.refunded)}`);
  return parts.join(' · ') || null;
}

// orderLookup finds an order by id for the box office: its state, price
// and refund.
export function orderLookup(s) {
  const id = h('input', { id: 'lookup-order', required: true, size: '38', autocomplete: 'off' });
  const out = h('div', { id: 'lookup-result', 'aria-live': 'polite' });
  const form = h('form', { class: 'row', id: 'lookup-form' }, h('label', { for: id.id }, 'Order id '), id, ' ', h('button', { type: 'submit' }, 'Look up'));
  form.addEventListener('submit', async e => {
    e.preventDefault();
    if (!id.value.trim()) return id.focus();
    out.replaceChildren(h('p', {}, 'Loading…'));
    try {
      const o = await call(`/admin/v1/orders/${enc(id.value.trim())}`, { signal: s.signal });
      out.replaceChildren(h('p', {}, `${o.status} · ${o.seats.length ? o.seats.join(', ') : `${o.quantity} × ${o.section}`}${o.email ? ` · ${o.email}` : ''}`),
        breakdown(o), refundDetails(o) || '');
    } catch (x) { if (!isStop(x)) out.replaceChildren(h('p', { class: 'error' }, explain(x))); }
  });
  return h('section', { 'aria-labelledby': 'lookup-h' }, h('h3', { id: 'lookup-h' }, 'Find an order'), form, out);
}
