// Stripe's Payment Element, loaded only when config.json's payment names
// this script, as Stripe's registry entry (internal/payments/stripe) makes
// the CDK app write (the local stack uses the sandbox pay page instead).
// Stripe requires Stripe.js to come from js.stripe.com.
import { h } from './lib.js';

let loading;
const loadStripe = () => loading ??= new Promise((ok, fail) => {
  const s = h('script', { src: 'https://js.stripe.com/v3/' });
  s.onload = ok;
  s.onerror = () => { loading = null; fail(Object.assign(new Error('Stripe did not load'), { code: 'NETWORK' })); };
  document.head.append(s);
});

// payForm returns a form that confirms the order's PaymentIntent (config is
// config.json's payment object, payment the API's answer); onPaid runs
// once Stripe accepted it (the order page then waits for the webhook to
// mark the order paid).
export async function payForm({ config, payment, label, returnUrl, onPaid }) {
  await loadStripe();
  const stripe = window.Stripe(config.publishableKey);
  const elements = stripe.elements({ clientSecret: payment.clientSecret });
  const slot = h('div', { class: 'stripe' });
  const err = h('p', { class: 'error', role: 'alert' });
  const btn = h('button', { type: 'submit', class: 'primary' }, label);
  const form = h('form', {}, slot, btn, err);
  elements.create('payment').mount(slot);
  form.addEventListener('submit', async e => {
    e.preventDefault();
    btn.disabled = true;
    err.textContent = '';
    const { error } = await stripe.confirmPayment({ elements, redirect: 'if_required', confirmParams: { return_url: returnUrl } });
    if (error) {
      err.textContent = error.message || 'The payment did not go through. Nothing was charged; you can try again.';
      btn.disabled = false;
      return;
    }
    onPaid();
  });
  return form;
}
