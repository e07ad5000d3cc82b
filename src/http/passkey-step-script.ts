// The one script of the built-in pages: on the second step of a sign-in (second-step-page.ts) it lets a passkey
// answer, which WebAuthn allows only from script. Progressive enhancement: the page works without it (a code or a
// recovery code), and the script only shows the page's "Use a passkey" button. Pressed, it asks Tessera's own
// JSON API for the passkey options of the page's mfa_token (POST /auth/mfa/passkey/options, same origin), runs
// navigator.credentials.get(), puts the answer in hidden fields of the page's form and submits it: an ordinary
// POST with the CSRF token, checked by the same second-step call as POST /auth/mfa/verify. Static, so it is one
// fixed file, allowed by the page's CSP nonce (pages.ts), not inline.

/** Where Tessera serves it (src/routes/passkey-step-asset.ts). */
export const PASSKEY_STEP_SCRIPT_PATH = '/oauth/assets/passkey-step.js';

export const PASSKEY_STEP_SCRIPT = `'use strict';
(function () {
  var button = document.getElementById('passkey-button');
  var form = button && button.form;
  var PKC = window.PublicKeyCredential;
  if (!form || !PKC || typeof PKC.parseRequestOptionsFromJSON !== 'function' || !navigator.credentials) return;
  var status = document.getElementById('passkey-status');
  var note = document.getElementById('passkey-note');
  if (note) note.textContent = 'Your second factor is a passkey: use it, or enter a recovery code.';
  function field(name) {
    var input = form.elements.namedItem(name);
    if (!input) {
      input = document.createElement('input');
      input.type = 'hidden';
      input.name = name;
      form.appendChild(input);
    }
    return input;
  }
  function say(text) {
    if (status) status.textContent = text;
  }
  button.hidden = false;
  button.addEventListener('click', function () {
    button.disabled = true;
    say('Waiting for your passkey…');
    fetch('/auth/mfa/passkey/options', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ mfa_token: form.elements.namedItem('mfa_token').value }),
    })
      .then(function (r) {
        if (!r.ok) throw new Error('options ' + r.status);
        return r.json();
      })
      .then(function (body) {
        return navigator.credentials
          .get({ publicKey: PKC.parseRequestOptionsFromJSON(body.options) })
          .then(function (credential) {
            field('passkey_challenge_id').value = body.challenge_id;
            field('passkey_response').value = JSON.stringify(credential.toJSON());
            say('Checking your passkey…');
            form.submit();
          });
      })
      .catch(function () {
        button.disabled = false;
        button.focus();
        say('The passkey did not answer. Try again, or enter a code.');
      });
  });
})();
`;
