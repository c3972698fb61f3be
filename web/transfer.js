// Ticket transfers (ADR 29), loaded on demand by the pages that show
// tickets: a "Transfer" action per valid ticket of an order (recipient's
// email, then a confirmation), the sender's pending offers with "Cancel
// transfer", and on My tickets the offers to accept and the tickets
// received.
import { h, api, enc, isStop, explain, announce, when } from './lib.js';

const mine = (token, signal) => api('/v1/me/transfers', { token, signal });

function failure(e) {
  const words = {
    INVALID_STATE: 'This can no longer be done: the ticket or the transfer changed (it may have been accepted, cancelled, refunded or used). The page now shows where it stands.',
    CONFLICT: 'You already have as many tickets for this event as one account may have, so you cannot receive another.',
    INVALID_REQUEST: e.message,
  }[e.code];
  return h('div', { class: 'notice error', role: 'alert' }, h('p', {}, words || explain(e)));
}

// ticketActions fills each [data-transfer] placeholder of root (one per
// valid ticket, its ticket id in the attribute) with the ticket's transfer
// state and actions. seatOf names a ticket's seat for people.
export async function ticketActions(root, { token, signal, seatOf }) {
  const spots = [...root.querySelectorAll('[data-transfer]')];
  if (!spots.length) return;
  let list;
  try { list = await mine(token, signal); } catch (e) {
    if (isStop(e)) return;
    // Offline (the tickets came from the phone's copy): transfers wait
    // for the connection; the tickets themselves still show.
    if (e.code === 'NETWORK') return spots.forEach(spot => spot.replaceChildren(h('p', { class: 'hint' }, 'Transfers need a connection.')));
    throw e;
  }
  const refresh = () => ticketActions(root, { token, signal, seatOf });
  for (const spot of spots) {
    const id = spot.getAttribute('data-transfer');
    const pending = list.outgoing.find(t => t.ticketId === id && t.status === 'PENDING');
    spot.replaceChildren(pending ? offered(pending, { token, signal, refresh }) : offerButton(id, seatOf(id), { token, signal, refresh }));
  }
}

function offered(t, { token, signal, refresh }) {
  const box = h('div', { class: 'transfer' });
  const cancel = h('button', { type: 'button', class: 'secondary', onclick: async () => {
    cancel.disabled = true;
    try {
      await api(`/v1/transfers/${enc(t.transferId)}/cancel`, { method: 'POST', token, signal });
      announce('Transfer cancelled. The ticket is yours to use.');
    } catch (e) {
      if (isStop(e)) return;
      return box.append(failure(e));
    }
    refresh();
  } }, 'Cancel transfer');
  box.append(h('p', { class: 'state', role: 'status' }, `Offered to ${t.to} since ${when(t.createdAt)}. Your code works until they accept.`), cancel);
  return box;
}

function offerButton(id, seat, { token, signal, refresh }) {
  const box = h('div', { class: 'transfer' });
  const open = h('button', { type: 'button', class: 'secondary', onclick: () => box.replaceChildren(form()) }, 'Transfer');
  function form() {
    const input = h('input', { type: 'email', name: 'to', required: true, autocomplete: 'off', maxlength: '254', id: `to-${id}` });
    return h('form', { class: 'transfer-form', onsubmit: e => { e.preventDefault(); if (input.value.trim()) box.replaceChildren(confirm(input.value.trim())); } },
      h('label', { for: `to-${id}` }, `Give ${seat} to (their email address)`), input,
      h('p', {}, h('button', { type: 'submit', class: 'primary' }, 'Continue'), ' ',
        h('button', { type: 'button', class: 'link', onclick: () => box.replaceChildren(open) }, 'Keep the ticket')));
  }
  function confirm(to) {
    const yes = h('button', { type: 'button', class: 'primary', onclick: async () => {
      yes.disabled = true;
      try {
        await api(`/v1/tickets/${enc(id)}/transfers`, { method: 'POST', token, signal, body: { to } });
        announce(`Transfer offered to ${to}.`);
      } catch (e) {
        if (isStop(e)) return;
        yes.disabled = false;
        return box.append(failure(e));
      }
      refresh();
    } }, 'Confirm transfer');
    return h('div', { class: 'transfer-confirm' },
      h('p', {}, `Transfer ${seat} to ${to}? When they accept, this ticket's code stops working and they get a new one. Until then you can cancel.`),
      h('p', {}, yes, ' ', h('button', { type: 'button', class: 'link', onclick: () => box.replaceChildren(open) }, 'Keep the ticket')));
  }
  box.append(open);
  return box;
}

// transfersPanel lists, for My tickets, the offers to accept, the tickets
// received and the caller's own pending offers. nameOf names an event;
// scope (the page's view) keeps a received ticket's live code turning.
export async function transfersPanel(box, { token, signal, scope, nameOf }) {
  let list;
  try { list = await mine(token, signal); } catch (e) {
    if (isStop(e)) return;
    return box.replaceChildren(failure(e));
  }
  const again = () => transfersPanel(box, { token, signal, scope, nameOf });
  const offers = list.incoming.filter(t => t.status === 'PENDING');
  const received = list.incoming.filter(t => t.status === 'ACCEPTED');
  const sent = list.outgoing.filter(t => t.status === 'PENDING');
  const parts = [];
  if (offers.length) {
    parts.push(h('h2', {}, 'Tickets offered to you'), h('ul', { class: 'cards' }, offers.map(t => {
      const li = h('li', { class: 'card' }, h('h3', {}, nameOf(t.eventId)), h('p', {}, `Seat ${t.seat}, from ${t.from}`));
      const ok = h('button', { type: 'button', class: 'primary', onclick: async () => {
        ok.disabled = true;
        try {
          await api(`/v1/transfers/${enc(t.transferId)}/accept`, { method: 'POST', token, signal });
          announce(`Ticket accepted: seat ${t.seat} is yours.`);
        } catch (e) {
          if (isStop(e)) return;
          ok.disabled = false;
          return li.append(failure(e));
        }
        again();
      } }, 'Accept');
      li.append(ok);
      return li;
    })));
  }
  if (received.length) {
    // A received ticket shows its live code as the buyer's do (ADR 28).
    const { ticketCard } = await import('./rotating.js');
    parts.push(h('h2', {}, 'Tickets you received'), h('ul', { class: 'tickets' }, received.flatMap(t => (t.tickets || []).map(k => {
      const li = ticketCard(k, `${nameOf(t.eventId)}: seat ${k.seat}`, scope);
      li.append(h('p', { class: 'hint' }, `From ${t.from}`));
      return li;
    }))));
  }
  if (sent.length) {
    parts.push(h('h2', {}, 'Your pending transfers'), h('ul', { class: 'cards' }, sent.map(t =>
      h('li', { class: 'card' }, h('h3', {}, nameOf(t.eventId)), h('p', {}, `Seat ${t.seat}`), offered(t, { token, signal, refresh: again })))));
  }
  box.replaceChildren(...parts);
}
