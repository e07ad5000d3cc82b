// The API the deployment's own login and consent pages call from their backend (LOGIN_UI_URL / CONSENT_UI_URL,
// Hydra's model): read the pending step of an authorization request by its challenge, then accept or reject it.
// The caller is a service client (SERVICE_CLIENTS) whose entry an admin gave the `authorization_ui` scope,
// authenticated on every request exactly as at /oauth/introspect (src/http/client-auth.ts: HTTP Basic, or
// private_key_jwt / client_secret_post in a form or JSON body); nobody else may read a request or vouch for a
// user. A decision is recorded once (one UPDATE, src/domain/oauth/ui-challenges.ts), and answers the URL to send
// the browser back to: /oauth/authorize/resume, which finishes the authorization in that browser only.
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { acceptForms } from '../http/form-body.js';
import { authenticateEachRequest } from '../http/client-auth.js';
import { errorResponses } from '../http/schemas.js';
import { noStore } from '../http/no-store.js';
import { AppError } from '../errors.js';
import { requireClientScope } from '../domain/authz/client-scopes.js';
import type { Decision } from '../domain/oauth/ui-challenges.js';
import { authorizationFlow } from './authorization-flow.js';
import type { Services } from '../services.js';

/** RFC 8176's registered methods: what the login page may say it checked. */
const AMR = ['face', 'fpt', 'geo', 'hwk', 'iris', 'kba', 'mca', 'mfa', 'otp', 'pin', 'pwd', 'rba', 'retina', 'sc']
  .concat(['sms', 'swk', 'tel', 'user', 'vbm', 'wia'])
  .sort();
/** The errors a UI may send the client (RFC 6749 §4.1.2.1, OIDC Core §3.1.2.6). */
const REJECTIONS = ['access_denied', 'login_required', 'consent_required', 'interaction_required'] as const;

const Challenge = Type.Object({ challenge: Type.String({ maxLength: 64 }) });
// Client credentials may ride in the body (client_secret_post, private_key_jwt): allowed, not echoed.
const credentials = { additionalProperties: true } as const;

const PendingRequest = Type.Object(
  {
    kind: Type.Union([Type.Literal('login'), Type.Literal('consent')]),
    client_id: Type.String(),
    client_name: Type.String(),
    /** The host the browser is sent back to (what the consent page names). */
    redirect_host: Type.String(),
    scopes: Type.Array(Type.String()),
    prompt: Type.Array(Type.String()),
    max_age: Type.Union([Type.Integer(), Type.Null()]),
    acr_values: Type.Union([Type.String(), Type.Null()]),
    login_hint: Type.Union([Type.String(), Type.Null()]),
    /** The user already signed in at Tessera in that browser (a login asked again by prompt or max_age), or null. */
    signed_in: Type.Union([
      Type.Object(
        { user_id: Type.String(), auth_time: Type.Integer(), amr: Type.Array(Type.String()) },
        { additionalProperties: false },
      ),
      Type.Null(),
    ]),
    expires_at: Type.Integer({ description: 'Seconds since the epoch: decide before this' }),
  },
  { additionalProperties: false },
);
const Decided = Type.Object(
  {
    redirect_to: Type.String({
      description:
        'Send the browser you are serving here (303), and only that one: Tessera finishes the authorization. It carries a one-time verifier; keep it out of logs',
    }),
  },
  { additionalProperties: false },
);
const AcceptBody = Type.Object(
  {
    /** Login: the Tessera user id the page authenticated. Consent: absent. */
    subject: Type.Optional(Type.String({ format: 'uuid' })),
    /** Login: how the page authenticated the user (RFC 8176). */
    amr: Type.Optional(Type.Array(Type.Union(AMR.map((m) => Type.Literal(m))), { minItems: 1, maxItems: 8 })),
    /** Login: keep the browser signed in at Tessera (SSO). Consent: remember it for (user, client, scopes). */
    remember: Type.Optional(Type.Boolean()),
  },
  credentials,
);
const RejectBody = Type.Object(
  {
    error: Type.Optional(Type.Union(REJECTIONS.map((e) => Type.Literal(e)))),
    error_description: Type.Optional(
      Type.String({ maxLength: 200, pattern: '^[\\x20-\\x21\\x23-\\x5B\\x5D-\\x7E]*$' }),
    ),
  },
  credentials,
);

const authorizationUiRoutes: FastifyPluginAsync<{ services: Services }> = async (fastify, { services }) => {
  await acceptForms(fastify);
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { clientAuthentication, config, oauth } = services;
  const flow = authorizationFlow(services);

  app.addHook('onSend', noStore);
  const clientOf = authenticateEachRequest(fastify, clientAuthentication);
  /** The calling UI backend: a service client holding authorization_ui. */
  const uiClient = (request: Parameters<typeof clientOf>[0]) => {
    const caller = clientOf(request);
    if (caller.kind !== 'confidential')
      throw new AppError('insufficient_scope', { detail: `client ${caller.id} is not a service client` });
    return requireClientScope(caller.client, 'authorization_ui');
  };
  const resumeUrl = (challenge: string, verifier: string) =>
    `${config.issuer}/oauth/authorize/resume?${new URLSearchParams({ challenge, verifier })}`;

  app.get(
    '/ui/requests/:challenge',
    {
      schema: {
        summary: 'The external login or consent page reads the pending step (client with authorization_ui)',
        params: Challenge,
        response: { 200: PendingRequest, ...errorResponses },
      },
    },
    async (request) => {
      uiClient(request);
      const pending = await oauth.uiChallenges.pending(request.params.challenge);
      const checked = await flow.check(request, {
        params: pending.params,
        carrier: null,
        pushed: pending.pushed,
        since: null,
        session: null,
      });
      // The client was disabled or changed since: nothing left to decide.
      if (checked.kind !== 'ok')
        throw new AppError('authorization_challenge_invalid', { detail: 'the request no longer holds' });
      const req = checked.request;
      const signedIn = pending.sessionId ? await oauth.browserSessions.live(pending.sessionId) : null;
      return {
        kind: pending.kind,
        client_id: req.client.id,
        client_name: req.client.name,
        redirect_host: new URL(req.redirectUri).host,
        scopes: req.scope,
        prompt: [...req.prompt],
        max_age: req.maxAge,
        acr_values: pending.params.acr_values ?? null,
        login_hint: req.loginHint,
        signed_in: signedIn
          ? {
              user_id: signedIn.userId,
              auth_time: Math.floor(signedIn.authTime.getTime() / 1000),
              amr: signedIn.amr ?? [],
            }
          : null,
        expires_at: Math.floor(pending.expiresAt.getTime() / 1000),
      };
    },
  );

  app.post(
    '/ui/requests/:challenge/accept',
    {
      schema: {
        summary: 'Accept the step: a login with the user and how they were authenticated, or a consent',
        params: Challenge,
        body: AcceptBody,
        response: { 200: Decided, ...errorResponses },
      },
    },
    async (request) => {
      const client = uiClient(request);
      const { challenge } = request.params;
      const pending = await oauth.uiChallenges.pending(challenge);
      const { subject, amr, remember } = request.body;
      if (pending.kind === 'login' && (subject === undefined || amr === undefined))
        throw new AppError('invalid_request', { message: 'A login is accepted with subject and amr.' });
      if (pending.kind === 'consent' && (subject !== undefined || amr !== undefined))
        throw new AppError('invalid_request', { message: 'A consent is accepted without subject or amr.' });
      const decision: Decision = {
        accept: true,
        ...(subject ? { subject, amr: [...new Set(amr)] } : {}),
        remember: remember ?? false,
      };
      const verifier = await oauth.uiChallenges.decide(challenge, decision, client.id);
      request.log.info({ event: 'authorize_ui_accepted', kind: pending.kind, by: client.id }, 'challenge accepted');
      return { redirect_to: resumeUrl(challenge, verifier) };
    },
  );

  app.post(
    '/ui/requests/:challenge/reject',
    {
      schema: {
        summary: 'Reject the step: the client gets the error at its redirect URI (default access_denied)',
        params: Challenge,
        body: RejectBody,
        response: { 200: Decided, ...errorResponses },
      },
    },
    async (request) => {
      const client = uiClient(request);
      const { challenge } = request.params;
      const body = request.body ?? {};
      const verifier = await oauth.uiChallenges.decide(
        challenge,
        { accept: false, error: body.error ?? 'access_denied', errorDescription: body.error_description ?? null },
        client.id,
      );
      request.log.info({ event: 'authorize_ui_rejected', by: client.id }, 'challenge rejected');
      return { redirect_to: resumeUrl(challenge, verifier) };
    },
  );
};

export default authorizationUiRoutes;
