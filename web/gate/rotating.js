// Rotating ticket codes at the gate while offline (ADR 28): a code
// R2.<kid>.<payload>.<signature>.<step>.<mac> carries the ticket's static
// code and a MAC of its 30-second step made with the ticket's rotation
// secret, which this phone derives from the event's gate key in the kit.
// The platform checks the same way online (internal/tickets/rotating.go).
const enc = new TextEncoder();
const unb64 = t => Uint8Array.from(atob(t.replace(/-/g, '+').replace(/_/g, '/')), c => c.charCodeAt(0));

const hmac = async (key, ...parts) => {
  const k = await crypto.subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const msg = [];
  parts.forEach((s, i) => { if (i) msg.push(0); msg.push(...enc.encode(s)); });
  return new Uint8Array(await crypto.subtle.sign('HMAC', k, new Uint8Array(msg)));
};

// ticketId is internal/tickets.TicketID: the first 10 bytes of
// SHA-256("stararena/ticket/v1" 0 orderId 0 seat), base32, lower case.
async function ticketId(orderId, seat) {
  const d = new Uint8Array(await crypto.subtle.digest('SHA-256', enc.encode(`stararena/ticket/v1\0${orderId}\0${seat}`))).slice(0, 10);
  const abc = 'abcdefghijklmnopqrstuvwxyz234567';
  let out = '', bits = 0, acc = 0;
  for (const b of d) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) { out += abc[(acc >>> (bits - 5)) & 31]; bits -= 5; }
  }
  return out;
}

// shownOffline answers for a genuine code of the gate's event shown the
// wrong way, as the platform does: a rotating code whose MAC does not fit
// (INVALID) or whose step is outside the window of one step either side
// of this phone's clock (EXPIRED), or a static code where the organizer
// accepts rotating codes only (STATIC_NOT_ACCEPTED). null: go on checking.
// UNCHECKED: the kit predates rotating codes.
export async function shownOffline(kit, t) {
  if (!t.rotating) return kit.ticketCodes === 'ROTATING_ONLY' ? { result: 'STATIC_NOT_ACCEPTED', seat: t.seat } : null;
  const gk = (kit.rotationKeys || []).find(k => k.kid === t.kid);
  if (!gk) return { result: 'UNCHECKED' };
  const secret = await hmac(unb64(gk.key), 'stararena/rotation/v1', await ticketId(t.orderId, t.seat), String(t.version));
  const mac = (await hmac(secret, `R2.${t.rotating.step}`)).slice(0, 12);
  const want = unb64(t.rotating.mac);
  if (mac.length !== want.length || mac.some((b, i) => b !== want[i])) return { result: 'INVALID' };
  const now = Math.floor(Date.now() / 1000 / (kit.stepSeconds || 30));
  if (Math.abs(t.rotating.step - now) > 1) return { result: 'EXPIRED', seat: t.seat };
  return null;
}
