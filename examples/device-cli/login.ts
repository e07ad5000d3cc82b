// A CLI signing its user in with the device authorization grant (RFC 8628), on openid-client at its default
// settings: discovery, then POST /oauth/device_authorization, then it shows the code and the link and polls
// /oauth/token until the user approves in a browser. It prints one JSON line when the code is ready
// ({"verification_uri", "verification_uri_complete", "user_code"}) and one with the result ({"access_token",
// "refresh_token", "id_token", "sub"}), so scripts and tests can read it; a person reads the same lines.
//
//   npx tsx examples/device-cli/login.ts --issuer http://127.0.0.1:3000 --client-id <id> [--scope "openid offline_access"]
//
// Plain http is accepted only for a loopback issuer (a local try-out); anything else must be https.
import { parseArgs } from 'node:util';
import * as oidc from 'openid-client';

const { values } = parseArgs({
  options: {
    issuer: { type: 'string' },
    'client-id': { type: 'string' },
    scope: { type: 'string', default: 'openid offline_access' },
  },
});
if (!values.issuer || !values['client-id']) {
  console.error('usage: login.ts --issuer <url> --client-id <id> [--scope "openid offline_access"]');
  process.exit(2);
}
const issuer = new URL(values.issuer);
const loopback = issuer.hostname === '127.0.0.1' || issuer.hostname === 'localhost' || issuer.hostname === '[::1]';
const options = issuer.protocol === 'http:' && loopback ? { execute: [oidc.allowInsecureRequests] } : undefined;

const config = await oidc.discovery(issuer, values['client-id'], undefined, oidc.None(), options);
const started = await oidc.initiateDeviceAuthorization(config, { scope: values.scope });
console.log(
  JSON.stringify({
    verification_uri: started.verification_uri,
    verification_uri_complete: started.verification_uri_complete,
    user_code: started.user_code,
  }),
);
const tokens = await oidc.pollDeviceAuthorizationGrant(config, started);
const claims = tokens.claims();
console.log(
  JSON.stringify({
    access_token: tokens.access_token,
    refresh_token: tokens.refresh_token,
    id_token: tokens.id_token,
    sub: claims?.sub,
  }),
);
