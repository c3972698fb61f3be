// The local stack's stand-in for AWS WAF's CAPTCHA JavaScript API (ADR 22):
// the same AwsWafCaptcha.renderCaptcha(container, { apiKey, onSuccess,
// onError }). Where AWS shows image puzzles, this shows digits to type;
// the solved CAPTCHA's token lands in the aws-waf-token cookie, which the
// page's same-origin requests carry, as in AWS.
(() => {
  const el = (tag, attrs = {}, ...kids) => {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    e.append(...kids);
    return e;
  };
  async function puzzle(container, opts) {
    const p = await (await fetch('/dev/waf/captcha-puzzle', { cache: 'no-store' })).json();
    const input = el('input', { id: 'waf-captcha-answer', inputmode: 'numeric', autocomplete: 'off', maxlength: '8' });
    const status = el('p', { class: 'hint', role: 'status' });
    const form = el('form', { class: 'waf-captcha' },
      el('p', {}, 'Type these digits: ', el('strong', { class: 'waf-captcha-digits' }, p.digits.split('').join(' '))),
      el('label', { for: input.id }, 'Digits'), input,
      el('button', { type: 'submit', class: 'primary' }, 'Verify'), status);
    form.addEventListener('submit', async e => {
      e.preventDefault();
      const r = await fetch('/dev/waf/captcha-token', {
        method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ nonce: p.nonce, answer: input.value.replace(/\s+/g, '') }),
      });
      if (!r.ok) {
        status.textContent = 'That was not right: here is another one.';
        return puzzle(container, opts).catch(err => opts.onError?.(err));
      }
      opts.onSuccess?.((await r.json()).token);
    });
    container.replaceChildren(form);
    input.focus();
  }
  window.AwsWafCaptcha = {
    renderCaptcha(container, opts = {}) {
      if (!opts.apiKey) throw new Error('renderCaptcha needs an apiKey');
      puzzle(container, opts).catch(err => opts.onError?.(err));
    },
  };
})();
