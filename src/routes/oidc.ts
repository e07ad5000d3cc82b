// OpenID Connect around the authorization endpoint: /oauth/userinfo (Core §5.3: the scopes of the token
// decide the claims), /oauth/logout (RP-Initiated Logout 1.0: ends the browser session, then redirects only
// to a post_logout_redirect_uri registered exactly for the client the id_token_hint names), and the user's
// connected apps under /auth/apps (list, revoke: the grants end at once and the consent is forgotten).
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { acceptForms } from '../http/form-body.js';
import { Type } from 'typebox';
import { AppError } from '../errors.js';
import { TokenInvalid } from '../domain/tokens/access-tokens.js';
import { responseUrl } from '../domain/oauth/authorization-request.js';
import { errorPage } from '../http/pages.js';
import { NoBody, errorResponses } from '../http/schemas.js';
import { requestMeta } from '../http/request-meta.js';
import { noStore } from '../http/no-store.js';
import { ConnectedAppsSchema, connectedAppsOut } from '../http/connected-apps.js';
import { bearerAuth } from '../plugins/bearer-auth.js';
import { BROWSER_SESSION_COOKIE } from '../http/password-sign-in.js';
import type { Services } from '../services.js';

const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

const UserInfo = Type.Object(
  {
    sub: Type.String(),
    email: Type.Optional(Type.String()),
    email_verified: Type.Optional(Type.Boolean()),
    updated_at: Type.Optional(Type.Integer()),
  },
  { additionalProperties: false },
);

const Value = Type.String({ maxLength: 8192 });
const LogoutParams = Type.Object(
  {
    id_token_hint: Type.Optional(Value),
    post_logout_redirect_uri: Type.Optional(Value),
    client_id: Type.Optional(Value),
    state: Type.Optional(Value),
  },
  { additionalProperties: true },
);

const oidcRoutes: FastifyPluginAsync<{ services: Services }> = async (fastify, { services }) => {
  await acceptForms(fastify);
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { oauth, accounts, accessTokens, oauthClients, config } = services;
  const requireBearer = bearerAuth(accessTokens, accounts);
  app.addHook('onSend', noStore);

  async function userinfo(request: FastifyRequest, reply: FastifyReply) {
    const refuse = (detail: string) => {
      reply.header('www-authenticate', 'Bearer realm="tessera", error="invalid_token"');
      return new AppError('invalid_token', { detail });
    };
    if (request.headers.authorization === undefined) {
      // RFC 6750 §3.1: no error attribute when the request carried no credentials at all.
      reply.header('www-authenticate', 'Bearer realm="tessera"');
      throw new AppError('missing_token');
    }
    const match = BEARER.exec(request.headers.authorization);
    if (!match) throw refuse('malformed Authorization header');
    let claims: Awaited<ReturnType<typeof oauth.tokens.verifyAccess>>;
    try {
      claims = await oauth.tokens.verifyAccess(match[1]!);
    } catch (err) {
      if (err instanceof TokenInvalid) throw refuse(err.reason);
      throw err;
    }
    const scopes = claims.scope.split(' ');
    if (!scopes.includes('openid')) {
      reply.header('www-authenticate', 'Bearer realm="tessera", error="insufficient_scope", scope="openid"');
      throw new AppError('insufficient_scope', { detail: 'userinfo needs the openid scope' });
    }
    const user = await accounts.forSession(claims.sub, claims.sid);
    if (!user) throw refuse('grant ended or user gone');
    return {
      sub: user.id,
      ...(scopes.includes('email') ? { email: user.email, email_verified: user.emailVerified } : {}),
    };
  }

  const userinfoSchema = (summary: string) => ({
    schema: { summary, response: { 200: UserInfo, ...errorResponses } },
  });
  app.get('/oauth/userinfo', userinfoSchema('OIDC UserInfo: claims of the user, as the token scopes allow'), userinfo);
  app.post('/oauth/userinfo', userinfoSchema('OIDC UserInfo (POST)'), userinfo);

  async function endSession(request: FastifyRequest, reply: FastifyReply, params: Record<string, unknown>) {
    const str = (k: string) => (typeof params[k] === 'string' ? (params[k] as string) : undefined);
    const hint = str('id_token_hint') ? await oauth.tokens.verifyIdTokenHint(str('id_token_hint')!) : null;
    if (str('id_token_hint') && !hint)
      return errorPage(reply, 'invalid_request', 'The logout request carries an ID token this server did not issue.');
    const clientId = hint?.aud ?? str('client_id');
    if (hint && str('client_id') !== undefined && str('client_id') !== hint.aud)
      return errorPage(reply, 'invalid_request', 'client_id does not match the ID token.');
    const target = str('post_logout_redirect_uri');
    const client = clientId ? await oauthClients.active(clientId) : null;
    // Exact match only, and only for a client we know: otherwise this would be an open redirector.
    if (target !== undefined && !client?.postLogoutRedirectUris.includes(target))
      return errorPage(reply, 'invalid_request', 'post_logout_redirect_uri is not registered for this client.');
    const browser = await oauth.browserSessions.open(request.cookies[BROWSER_SESSION_COOKIE]);
    // With a hint, only the session it names is ended (a stale hint from another user ends nothing).
    if (browser && (!hint || hint.sub === browser.userId)) {
      // The end writes the audit row (oauth_logout, naming the client that asked).
      await services.lifecycle.end(
        {
          which: { ids: [browser.sessionId] },
          reason: 'oidc_logout',
          by: clientId ? { kind: 'client', clientId } : { kind: 'self', sessionId: browser.sessionId },
        },
        requestMeta(request),
      );
    }
    reply.clearCookie(BROWSER_SESSION_COOKIE, { httpOnly: true, secure: true, sameSite: 'lax', path: '/' });
    if (target !== undefined) {
      const state = str('state') ?? null;
      return reply
        .code(303)
        .header('location', responseUrl(target, config.issuer, { state }))
        .send(null);
    }
    return errorPage(reply, 'signed_out', 'You are signed out.', 200);
  }

  const logoutResponses = { 200: Type.String(), 303: Type.Null(), 400: Type.String(), ...errorResponses };
  app.get(
    '/oauth/logout',
    {
      schema: {
        summary: 'OIDC RP-Initiated Logout: end the browser session, back to a registered URI',
        querystring: LogoutParams,
        response: logoutResponses,
      },
    },
    async (request, reply) => endSession(request, reply, request.query),
  );
  app.post(
    '/oauth/logout',
    {
      schema: { summary: 'OIDC RP-Initiated Logout (form POST)', body: LogoutParams, response: logoutResponses },
    },
    async (request, reply) => endSession(request, reply, request.body),
  );

  app.get(
    '/auth/apps',
    {
      preHandler: requireBearer,
      schema: {
        summary: 'The apps the user connected through OAuth: what they may do, when granted, last used',
        response: { 200: ConnectedAppsSchema, ...errorResponses },
      },
    },
    async (request) => {
      return connectedAppsOut(await oauth.consents.connected(request.bearer!.user.id));
    },
  );

  app.delete(
    '/auth/apps/:client_id',
    {
      preHandler: requireBearer,
      schema: {
        summary: 'Disconnect an app: its tokens stop at once and its consent is forgotten',
        params: Type.Object({ client_id: Type.String({ minLength: 1, maxLength: 128 }) }),
        response: { 204: NoBody, ...errorResponses },
      },
    },
    async (request, reply) => {
      const userId = request.bearer!.user.id;
      const done = await oauth.consents.revoke(
        userId,
        request.params.client_id,
        { kind: 'self' },
        requestMeta(request),
      );
      if (!done) throw new AppError('not_found');
      request.log.info(
        { event: 'oauth_grant_revoked', userId, clientId: request.params.client_id },
        'app disconnected',
      );
      return reply.code(204).send(null);
    },
  );
};

export default oidcRoutes;
