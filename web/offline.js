// Offline tickets: the service worker (sw.js) keeps the app shell and the
// fan's last-loaded orders and tickets; the pages say when what they show
// was last updated.
import { h, when } from './lib.js';

// registerOffline installs the worker; a browser without service workers
// (or a private window refusing them) simply stays online-only.
export function registerOffline() {
  navigator.serviceWorker?.register('/sw.js').catch(() => {});
}

// offlineNote tells that the page shows copies taken at since.
export function offlineNote(since) {
  return h('p', { class: 'notice offline', role: 'status' },
    `You are offline — last updated ${when(since)}. Your tickets still work: show the QR code at the door.`);
}
