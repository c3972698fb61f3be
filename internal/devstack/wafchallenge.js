// The local stack's stand-in for AWS WAF's challenge script (the web ACL's
// application integration, ADR 22): the same AwsWafIntegration.getToken()
// and hasToken(). Where AWS runs its silent browser check, this solves a
// small proof of work; the token lands in the aws-waf-token cookie, which
// the page's same-origin requests carry, as in AWS.
(() => {
  const zeroBits = (b, n) => {
    for (let i = 0; i < n; i++) if (b[i >> 3] & (0x80 >> (i & 7))) return false;
    return true;
  };
  async function solve() {
    const p = await (await fetch('/dev/waf/puzzle', { cache: 'no-store' })).json();
    const enc = new TextEncoder();
    for (let c = 0; ; c++) {
      const d = new Uint8Array(await crypto.subtle.digest('SHA-256', enc.encode(`${p.nonce}:${c}`)));
      if (!zeroBits(d, p.bits)) continue;
      const r = await fetch('/dev/waf/token', {
        method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ nonce: p.nonce, counter: String(c) }),
      });
      if (!r.ok) throw new Error(`the bot check refused the answer (${r.status})`);
      return (await r.json()).token;
    }
  }
  let pending = null;
  window.AwsWafIntegration = {
    hasToken: () => document.cookie.split('; ').some(c => c.startsWith('aws-waf-token=')),
    getToken: () => (pending ??= solve().finally(() => { pending = null; })),
  };
})();
