// The fan site's service worker: a fan's tickets stay on screen without a
// network (a concourse with no signal). Everything goes to the network
// first; only when that fails does the worker answer from its copies: the
// app shell, the events, and the signed-in fan's orders and tickets, each
// copy marked with when it was taken (X-Offline-Copy) so the page can say
// how old it is. Never cached here: tokens (copies are stored under a
// plain request, no Authorization header) and anything but GET.
// Signing out deletes the data cache (lib.js signOut), so the next account
// on the phone finds nothing of the last one's.
const SHELL = 'stararena-shell-v1';
const DATA = 'stararena-data-v1'; // lib.js deletes it by this name
const shell = ['/', '/app.js', '/lib.js', '/price.js', '/seatmap.js', '/venuemap.js', '/offline.js', '/style.css', '/venuemap.css', '/config.json'];
// The fan's own data, and the public event pages the order page names.
const data = [/^\/v1\/me\/orders$/, /^\/v1\/orders\/[^/]+$/, /^\/v1\/orders\/[^/]+\/tickets$/, /^\/v1\/events(\/[^/]+)?$/];

self.addEventListener('install', e => {
  e.waitUntil(caches.open(SHELL).then(c => c.addAll(shell)).then(() => self.skipWaiting()));
});
self.addEventListener('activate', e => {
  e.waitUntil(caches.keys()
    .then(keys => Promise.all(keys.filter(k => k.startsWith('stararena-') && k !== SHELL && k !== DATA).map(k => caches.delete(k))))
    .then(() => self.clients.claim()));
});

// account is the token's subject: copies are kept per account, so one
// account's copy never answers another's request. The token is not
// verified here; the API verified it when the copy was made.
function account(req) {
  const tok = (req.headers.get('Authorization') || '').replace(/^Bearer /, '');
  if (!tok) return '';
  try {
    return JSON.parse(atob(tok.split('.')[1].replace(/-/g, '+').replace(/_/g, '/'))).sub || '';
  } catch { return ''; }
}

function keyOf(url, acct) {
  const k = new URL(url);
  k.hash = '';
  if (acct) k.searchParams.set('account', acct);
  return k.href;
}

self.addEventListener('fetch', e => {
  const req = e.request;
  const url = new URL(req.url);
  if (req.method !== 'GET' || url.origin !== location.origin) return;
  if (req.mode === 'navigate') {
    // Only the fan site's page; the console and the gate have their own.
    if (url.pathname !== '/' && url.pathname !== '/index.html') return;
    return e.respondWith(fresh(req, SHELL, new URL('/', url).href));
  }
  if (shell.includes(url.pathname)) return e.respondWith(fresh(req, SHELL, url.href.split('?')[0]));
  if (data.some(r => r.test(url.pathname))) {
    const acct = account(req);
    // A fan route without a token has nothing of its own to keep.
    if (!acct && !url.pathname.startsWith('/v1/events')) return;
    e.respondWith(fresh(req, DATA, keyOf(req.url, acct)));
  }
});

// fresh answers from the network and keeps a copy of a good answer; when
// the network fails it answers the last copy, or fails as the network did.
async function fresh(req, name, key) {
  try {
    const res = await fetch(req);
    if (res.ok) {
      const copy = res.clone();
      const headers = new Headers(copy.headers);
      headers.set('X-Offline-Copy', new Date().toISOString());
      const body = await copy.blob();
      const c = await caches.open(name);
      await c.put(key, new Response(body, { status: copy.status, statusText: copy.statusText, headers }));
    }
    return res;
  } catch (err) {
    const hit = await (await caches.open(name)).match(key);
    if (hit) return hit;
    throw err;
  }
}
