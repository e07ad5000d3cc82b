// The example SPA: every call to Tessera goes through @tessera/client (served by server.ts from
// packages/client/dist). config.js says where Tessera is: '' when it is this page's origin (behind the same
// proxy), or its own origin (a cross-origin API, listed in Tessera's CORS_ORIGINS).
import { createClient } from './sdk/index.js';
import { baseUrl } from './config.js';

const tessera = createClient({ baseUrl });
window.tessera = tessera; // for the browser test, and for trying things in the console

const $ = (id) => document.getElementById(id);
const show = (value) => {
  $('out').textContent = typeof value === 'string' ? value : JSON.stringify(value, null, 2);
};

async function render() {
  if (!tessera.signedIn) {
    $('status').textContent = 'signed out';
    return;
  }
  try {
    $('status').textContent = `signed in as ${(await tessera.user()).email}`;
  } catch (err) {
    $('status').textContent = `error ${err.code}`;
  }
}

for (const event of ['signed_in', 'token_refreshed', 'signed_out', 'session_ended']) {
  tessera.on(event, (detail) => {
    const li = document.createElement('li');
    li.textContent = `${event} ${JSON.stringify(detail)}`;
    $('events').append(li);
    void render();
  });
}

$('signin').addEventListener('submit', async (e) => {
  e.preventDefault();
  const form = new FormData(e.target);
  const email = form.get('email');
  const password = form.get('password');
  try {
    if (e.submitter?.value === 'register') await tessera.register(email, password);
    await tessera.signIn(email, password);
  } catch (err) {
    show(`error ${err.code}`);
  }
});
$('me').addEventListener('click', async () => show(await tessera.user().catch((err) => `error ${err.code}`)));
$('sessions').addEventListener('click', async () => show(await tessera.sessions().catch((err) => `error ${err.code}`)));
$('signout').addEventListener('click', () => tessera.signOut());
$('signout-all').addEventListener('click', () => tessera.signOutEverywhere());

await tessera.start();
await render();
