// Shared by the fan site and the organizer console: DOM building, the JSON
// API, sign-in, formatting, announcements and plain-words errors.

// h builds an element: h('a', {href: '/', class: 'x', onclick: fn}, 'text', child).
export function h(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'class') e.className = v;
    else e.setAttribute(k, v === true ? '' : v);
  }
  e.append(...kids.flat().filter(x => x != null && x !== false));
  return e;
}

export const enc = encodeURIComponent;
export const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));

// A scope owns a view's timers and requests; stop() ends them all, and a
// child scope stops with its parent.
export function newScope(parent) {
  const ctl = new AbortController();
  const timers = new Set();
  const s = {
    signal: ctl.signal,
    get live() { return !ctl.signal.aborted; },
    after(ms, fn) {
      // Browsers fire a timeout over 2^31-1 ms at once: cap it (the
      // caller checks again when it fires).
      const id = setTimeout(() => { timers.delete(id); if (s.live) fn(); }, Math.min(ms, 2 ** 31 - 1));
      timers.add(id);
    },
    every(ms, fn) { const id = setInterval(() => s.live && fn(), ms); timers.add(id); },
    sleep(ms) {
      return new Promise((ok, fail) => {
        if (!s.live) return fail(stopped());
        s.after(ms, ok);
        ctl.signal.addEventListener('abort', () => fail(stopped()), { once: true });
      });
    },
    stop() {
      ctl.abort();
      for (const id of timers) { clearTimeout(id); clearInterval(id); }
      timers.clear();
    },
  };
  parent?.signal.addEventListener('abort', () => s.stop(), { once: true });
  return s;
}
const stopped = () => new DOMException('view changed', 'AbortError');
export const isStop = e => e?.name === 'AbortError';

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    Object.assign(this, { status, code, details: details || {} });
  }
}

// When the copy the service worker (sw.js) answered offline was taken.
let offlineSince = null;
export function takeOffline() { const t = offlineSince; offlineSince = null; return t; }

// api calls the JSON API. Errors become ApiError with the contract's code;
// a 401 is UNAUTHORIZED whatever its body (in AWS the authorizer answers
// {"message":"Unauthorized"} before any function runs).
export async function api(path, { method = 'GET', body, token, headers = {}, signal } = {}) {
  const hd = { ...headers };
  if (body !== undefined) hd['Content-Type'] = 'application/json';
  if (token) hd.Authorization = `Bearer ${token}`;
  let res;
  try {
    res = await fetch(path, { method, headers: hd, signal, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    if (isStop(e)) throw e;
    throw new ApiError(0, 'NETWORK', 'The network request failed.');
  }
  offlineSince = res.headers.get('X-Offline-Copy') || offlineSince;
  // AWS WAF's bot check (ADR 22) answers for the API: 202 with no body and
  // x-amzn-waf-action naming the check. The request did not arrive.
  const waf = res.headers.get('x-amzn-waf-action');
  if (waf) throw new ApiError(res.status, 'BOT_CHECK', 'Please try again: the bot check did not pass.', { action: waf });
  let data = null;
  try { data = await res.json(); } catch { /* empty or not JSON */ }
  if (res.ok) return data;
  const er = data?.error || {};
  const code = res.status === 401 ? 'UNAUTHORIZED' : er.code || `HTTP_${res.status}`;
  const details = er.details || {};
  if (res.headers.get('Retry-After')) details.retryAfterSeconds ??= Number(res.headers.get('Retry-After'));
  throw new ApiError(res.status, code, er.message || data?.message || res.statusText, details);
}

// Site configuration (web/config.json): how fans sign in and pay. A missing
// file means the local stack's defaults. In AWS the deployment writes it:
// signIn "cognito" with the user pool's sign-in domain and app client.
const defaults = { signIn: 'dev', payment: { provider: 'sandbox' } };
let site = defaults;
export async function loadConfig() {
  try {
    const r = await fetch('/config.json');
    if (r.ok) site = { ...defaults, ...(await r.json()) };
  } catch { /* defaults */ }
  if (site.signIn === 'cognito') await finishHostedSignIn(site.cognito);
  return site;
}

// Bot check (ADR 22): the WAF challenges every join. The page loads the web
// ACL's challenge script (config.json "waf.script"; the local stack serves
// a stand-in) and holds a token, a cookie its requests carry, before
// joining. Without a configured script there is no check to pass.
const scripts = new Map();
function loadScript(src) {
  if (!scripts.has(src)) {
    scripts.set(src, new Promise((ok, fail) => {
      const s = document.createElement('script');
      s.src = src;
      s.onload = ok;
      s.onerror = () => { scripts.delete(src); fail(new ApiError(0, 'NETWORK', 'The bot check did not load.')); };
      document.head.append(s);
    }));
  }
  return scripts.get(src);
}
export async function botToken() {
  if (!site.waf?.script) return;
  await loadScript(site.waf.script);
  await window.AwsWafIntegration.getToken();
}

// A CAPTCHA (an organizer raised the event's bot level, ADR 22): the page
// shows AWS WAF's CAPTCHA in container with the CAPTCHA JavaScript API
// (config.json "waf.captchaScript" and "waf.captchaApiKey"; the local stack
// serves a stand-in) and resolves once the fan solved it, the token then
// in the cookie the join carries. canShowCaptcha is false without one.
export const canShowCaptcha = () => Boolean(site.waf?.captchaScript && site.waf?.captchaApiKey);
export async function botCaptcha(container) {
  await loadScript(site.waf.captchaScript);
  return new Promise((ok, fail) => window.AwsWafCaptcha.renderCaptcha(container, {
    apiKey: site.waf.captchaApiKey,
    onSuccess: ok,
    onError: () => fail(new ApiError(0, 'BOT_CHECK', 'The puzzle did not work: reload the page to try again.')),
  }));
}

// Sessions: a token per role, kept in localStorage so a refresh or a
// second tab is the same account. sub is the account id; name is what the
// page shows (the e-mail address when the sign-in gave one).
const skey = role => `stararena.session.${role}`;
export function session(role) {
  try {
    const s = JSON.parse(localStorage.getItem(skey(role)));
    if (s && Date.parse(s.expiresAt) > Date.now() + 60e3) return s;
  } catch { /* none */ }
  return null;
}
function keep(role, s) {
  localStorage.setItem(skey(role), JSON.stringify(s));
  return s;
}
// org names a staff member's organization (the dev token's org claim).
export async function signIn(role, sub, org) {
  const t = await api('/dev/token', { method: 'POST', body: { sub, role, org: org || undefined } });
  return keep(role, { sub, name: sub, token: t.token, expiresAt: t.expiresAt });
}
// signOut forgets the session. everywhere also ends the hosted sign-in's
// own session (a fan pressing "Sign out" on a shared phone), which leaves
// the page; an expired token only needs the first part.
export function signOut(role, { everywhere = false } = {}) {
  localStorage.removeItem(skey(role));
  // sw.js's copies of the fan's orders go too, unseen by the next account.
  if (role === 'fan') globalThis.caches?.delete('stararena-data-v1').catch(() => {});
  if (everywhere && site.signIn === 'cognito') {
    const q = new URLSearchParams({ client_id: site.cognito.clientId, logout_uri: `${location.origin}/` });
    location.assign(`${site.cognito.domain}/logout?${q}`);
  }
}

// Hosted sign-in (Cognito's, or the local stack's stand-in): OAuth 2.0
// authorization code with PKCE. The page goes to the sign-in domain and
// comes back to / with a code, which loadConfig exchanges for tokens before
// the page renders, then puts the fan back where they were.
const pending = 'stararena.signin';
const b64url = bytes => btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
const randomText = n => b64url(crypto.getRandomValues(new Uint8Array(n)));
// Fans come back to /; organizers and staff sign in through their own app
// client (staffClientId) and come back to the page they left (/console/,
// /gate/), with the ID token, which carries their groups and organization.
const staff = role => role !== 'fan';
const clientOf = (c, role) => staff(role) ? c.staffClientId : c.clientId;
const redirectUri = role => staff(role) ? `${location.origin}${location.pathname}` : `${location.origin}/`;

async function startHostedSignIn(c, role) {
  const verifier = randomText(32), state = randomText(16);
  const challenge = b64url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))));
  const redirect = redirectUri(role);
  sessionStorage.setItem(pending, JSON.stringify({ verifier, state, role, redirect, back: location.pathname + location.search + location.hash }));
  const q = new URLSearchParams({ response_type: 'code', client_id: clientOf(c, role), redirect_uri: redirect, state,
    code_challenge: challenge, code_challenge_method: 'S256', scope: staff(role) ? 'openid email profile' : 'openid email' });
  location.assign(`${c.domain}/oauth2/authorize?${q}`);
}

function claimsOf(jwt) {
  try {
    return JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(jwt.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')), ch => ch.charCodeAt(0))));
  } catch { return {}; }
}

async function finishHostedSignIn(c) {
  const q = new URLSearchParams(location.search);
  if (!q.has('code') && !q.has('error')) return;
  let p = null;
  try { p = JSON.parse(sessionStorage.getItem(pending)); } catch { /* none */ }
  sessionStorage.removeItem(pending);
  // The code is spent either way: take it out of the address bar.
  history.replaceState(null, '', p?.back || '/');
  if (q.has('error') || !p || q.get('state') !== p.state) {
    site = { ...site, signInProblem: q.get('error') === 'access_denied' ? 'Sign-in was cancelled.' : 'Sign-in did not complete. Please try again.' };
    return;
  }
  try {
    const r = await fetch(`${c.domain}/oauth2/token`, {
      method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', client_id: clientOf(c, p.role), code: q.get('code'),
        redirect_uri: p.redirect || redirectUri(p.role), code_verifier: p.verifier }),
    });
    if (!r.ok) throw new Error(`token endpoint answered ${r.status}`);
    const t = await r.json();
    const id = claimsOf(t.id_token || t.access_token);
    keep(p.role, { sub: id.sub, name: id.email || id['cognito:username'] || id.sub, token: staff(p.role) ? t.id_token : t.access_token,
      expiresAt: new Date(Date.now() + t.expires_in * 1000).toISOString() });
  } catch {
    site = { ...site, signInProblem: 'Sign-in did not complete. Please try again.' };
  }
}

// signInForm asks for a sign-in and calls then(session). Locally it asks
// for an account name (the stand-in for Cognito); a fan with hosted
// sign-in gets a button that leaves for the sign-in page (the page then
// reloads signed in, so then is not called); so do organizers and staff
// when the deployment names their app client (ADR 16).
export function signInForm(role, lead, then) {
  const err = h('p', { class: 'error', role: 'alert' }, site.signInProblem || '');
  if (site.signIn === 'cognito' && (role === 'fan' || site.cognito.staffClientId)) {
    const go = h('button', { type: 'button' }, 'Sign in or create an account');
    go.addEventListener('click', async () => {
      go.disabled = true;
      try { await startHostedSignIn(site.cognito, role); } catch (x) { err.textContent = explain(x); go.disabled = false; }
    });
    return h('div', { class: 'signin' }, h('p', {}, lead), go,
      h('p', { class: 'hint' }, 'You sign in on the StarArena account page and come straight back here.'), err);
  }
  const id = `acct-${role}`;
  const input = h('input', { id, name: 'account', autocomplete: 'username', required: true, maxlength: '64',
    value: `${role}-${Math.random().toString(36).slice(2, 7)}`, 'aria-describedby': `${id}-hint` });
  // Staff other than organizers belong to an organization their owner named.
  const org = role === 'staff' && h('input', { id: `${id}-org`, name: 'org', required: true, maxlength: '64' });
  const form = h('form', { class: 'signin' },
    h('p', {}, lead),
    h('label', { for: id }, 'Account name'), input,
    org && [h('label', { for: org.id }, 'Organization'), org],
    h('p', { class: 'hint', id: `${id}-hint` }, 'Local development sign-in: any name works and is your account.'),
    h('button', { type: 'submit' }, 'Sign in and continue'), err);
  form.addEventListener('submit', async e => {
    e.preventDefault();
    form.querySelector('button').disabled = true;
    try { then(await signIn(role, input.value.trim(), org && org.value.trim())); } catch (x) { err.textContent = explain(x); form.querySelector('button').disabled = false; }
  });
  return form;
}

// Money in minor units.
export function money(cents, currency) {
  const f = new Intl.NumberFormat(undefined, { style: 'currency', currency });
  return f.format(cents / 10 ** f.resolvedOptions().maximumFractionDigits);
}
export function minorDigits(currency) {
  return new Intl.NumberFormat(undefined, { style: 'currency', currency }).resolvedOptions().maximumFractionDigits;
}
export const num = n => new Intl.NumberFormat().format(n);
// when names the time zone: a fan abroad, or a venue abroad, must not guess.
export const when = t => new Date(t).toLocaleString(undefined, { weekday: 'long', year: 'numeric', month: 'long', day: 'numeric', hour: 'numeric', minute: '2-digit', timeZoneName: 'short' });
export const clock = t => new Date(t).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
export const timeTag = (t, text) => h('time', { datetime: new Date(t).toISOString() }, text ?? when(t));

// countdown formats seconds as 1 d 02:03:04, 02:03:04 or 03:04.
export function countdown(sec) {
  sec = Math.max(0, Math.ceil(sec));
  const d = Math.floor(sec / 86400), hh = Math.floor(sec / 3600) % 24, mm = Math.floor(sec / 60) % 60, ss = sec % 60;
  const p = n => String(n).padStart(2, '0');
  return (d ? `${d} d ` : '') + (d || hh ? `${p(hh)}:` : '') + `${p(mm)}:${p(ss)}`;
}
// about is a calm, rounded duration: "about 3 minutes".
export function about(sec) {
  if (sec < 60) return 'less than a minute';
  const m = Math.round(sec / 60);
  if (m < 60) return `about ${m} minute${m === 1 ? '' : 's'}`;
  const hr = Math.round(m / 6) / 10;
  return `about ${hr} hour${hr === 1 ? '' : 's'}`;
}

// announce speaks a status change to screen readers (one polite region).
export function announce(text) {
  const live = document.getElementById('live');
  if (!live) return;
  live.textContent = '';
  requestAnimationFrame(() => { live.textContent = text; });
}

// explain turns an API error into plain words with the next step.
export function explain(e) {
  const d = e?.details || {};
  switch (e?.code) {
    case 'NETWORK': return 'We could not reach StarArena. Check your connection; your place and any seats you hold are kept. Try again in a moment.';
    case 'UNAUTHORIZED': return 'Your sign-in has expired. Please sign in again.';
    case 'RATE_LIMITED': return `That was a lot of requests in a short time. Please wait ${d.retryAfterSeconds || 30} seconds and try again; nothing you already have is lost.`;
    case 'SOLD_OUT': return 'Sold out: every place is sold or held. Seats held by others and not paid in time go back on sale, so it can be worth checking again later.';
    case 'LIMIT_EXCEEDED': return 'You have reached the ticket limit for this event on this account. Your existing orders are under My tickets.';
    case 'SEATS_UNAVAILABLE': return `Sorry, ${(d.seats || []).join(', ') || 'those seats'} ${(d.seats || []).length === 1 ? 'was' : 'were'} just taken by someone else. Choose other seats or use best available.`;
    case 'SALE_NOT_OPEN': return d.presaleOpensAt
      ? `The presale has not started yet: codes work from ${when(d.presaleOpensAt)}. This page updates when it opens.`
      : `The sale is not open right now (${String(d.saleState || 'not open').toLowerCase()}). This page updates when it changes.`;
    case 'PRESALE_CODE_REQUIRED': return 'Until the public sale opens, only fans with a presale code can buy. Enter your code to continue.';
    case 'PRESALE_CODE_UNKNOWN': return 'That presale code is not one of this event\'s. Check it and try again: letters and digits, dashes optional.';
    case 'WAITLIST_FIRST': return 'Sold out, with a waiting list: places that come back go to the fans on the list first, in the order they joined. Join it to be offered one.';
    case 'NOT_SOLD_OUT': return 'Places are still on sale, so there is no waiting list yet: choose seats instead.';
    case 'PRESALE_CODE_EXHAUSTED': return 'That presale code has been used as many times as it allows. You can still buy when the public sale opens.';
    case 'ADMISSION_INVALID': return 'Your admission is no longer valid: it expired or was already used for a hold.';
    case 'NOT_FOUND': return 'We could not find that. Check the link, or start from the list of events.';
    case 'UNAVAILABLE': case 'INTERNAL': return 'Something went wrong on our side. Nothing was charged; please try again in a moment.';
    default: return e?.message || 'Something went wrong. Please try again.';
  }
}
