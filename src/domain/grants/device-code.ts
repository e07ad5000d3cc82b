// The device_code grant (RFC 8628 §3.4): a CLI or a TV polls with the device code it was given by
// POST /oauth/device_authorization until the user has decided on the verification page. The code is spent by
// one statement (src/domain/oauth/device-codes.ts), which also checks again that the client, the account and the
// approving browser session are all still good; every other poll is answered authorization_pending, slow_down,
// access_denied or expired_token. Tokens as the authorization_code grant gives them: the access token from the
// one token issuer, the ID token when `openid` was approved, the refresh token when `offline_access` was.
import { DomainError } from '../domain-error.js';
import { param, type Grant } from './grant.js';
import { userGrantTokens } from './user-grant-tokens.js';

export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

export const deviceCode: Grant = {
  type: DEVICE_CODE_GRANT,
  publicClients: true,
  async handle({ form, client: caller, services, meta }) {
    if (caller.kind !== 'oauth' || !caller.client.grantTypes.includes(DEVICE_CODE_GRANT))
      throw new DomainError('unauthorized_client');
    const client = caller.client;
    const code = param(form, 'device_code');
    if (code === undefined) throw new DomainError('invalid_request', { message: 'device_code is required.' });
    const { devices } = services.oauth;
    const r = await devices.redeem(code, client, meta);
    const grant = {
      userId: r.userId,
      clientId: client.id,
      sessionId: r.grantSessionId,
      scope: r.scope,
      audience: r.audience,
      authTime: r.authTime,
      idp: r.idp,
      amr: r.amr,
      roles: r.roles,
    };
    const response = await userGrantTokens(services, grant, {
      browserSessionId: r.browserSessionId,
      nonce: null,
      email: r.email,
      emailVerified: r.emailVerified,
    });
    return {
      response,
      log: {
        event: 'oauth_device_redeemed',
        message: 'device code redeemed',
        clientId: client.id,
        userId: r.userId,
        sessionId: r.grantSessionId,
      },
    };
  },
};
