// The two sign-in routes every built-in page flow has (/oauth/authorize and /oauth/device): POST <base>/login takes
// the password, POST <base>/mfa the second step of an account with a factor. The sign-in itself is
// src/http/password-sign-in.ts; this is the one shape of the routes around it: what each answer draws (the
// sign-in page again with why, the second-step page, or the flow's next step), so the two flows differ only in
// what their pages carry and what follows a sign-in.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TSchema } from 'typebox';
import { errorCatalog } from '../errors.js';
import { loginPage } from '../http/pages.js';
import { passwordSignIn, secondStepSignIn } from '../http/password-sign-in.js';
import { secondStepPage } from '../http/second-step-page.js';
import { rateLimitFor } from '../plugins/rate-limit.js';
import type { BrowserSession } from '../domain/oauth/browser-sessions.js';
import type { Services } from '../services.js';

type Body = Record<string, unknown>;

/** What a flow's sign-in pages show and carry. */
interface PageFrame {
  clientName: string;
  /** The hidden fields (the csrf token among them) that carry the flow on. */
  fields: Record<string, string>;
  /** Where the client's redirect may go next (none for the device flow, which never redirects). */
  formTarget?: string;
}

export interface SignInSteps<Ctx> {
  /** The routes' prefix under /oauth: `/authorize` or `/device`. */
  base: string;
  /** What the flow's route summaries call it. */
  name: string;
  body: TSchema;
  response: Record<number, TSchema>;
  /** The CSRF token and what the page carried: the flow's state, or the reply already sent (a refusal). */
  begin(request: FastifyRequest, reply: FastifyReply, body: Body): Promise<{ sent: FastifyReply } | { ctx: Ctx }>;
  frame(request: FastifyRequest, reply: FastifyReply, ctx: Ctx): PageFrame;
  /** The user is signed in (the browser-session cookie set): the flow's next page. */
  signedIn(request: FastifyRequest, reply: FastifyReply, ctx: Ctx, session: BrowserSession): Promise<FastifyReply>;
}

const text = (body: Body, name: string) => (typeof body[name] === 'string' ? (body[name] as string) : '');

export function signInStepRoutes<Ctx>(app: FastifyInstance, services: Services, flow: SignInSteps<Ctx>): void {
  const limited = rateLimitFor(services.config);
  const login = `/oauth${flow.base}/login`;
  const mfa = `/oauth${flow.base}/mfa`;

  const signInPage = (frame: PageFrame, reply: FastifyReply, email: string, error: { code: string; status: number }) =>
    loginPage(reply, {
      clientName: frame.clientName,
      action: login,
      fields: frame.fields,
      email,
      error: errorCatalog[error.code as keyof typeof errorCatalog].message,
      status: error.status,
      ...(frame.formTarget ? { formTarget: frame.formTarget } : {}),
    });

  const stepPage = (
    frame: PageFrame,
    reply: FastifyReply,
    mfaToken: string,
    factors: { id: string; type: string }[],
    error?: { code: string; status: number },
  ) =>
    secondStepPage(reply, {
      clientName: frame.clientName,
      action: mfa,
      fields: { ...frame.fields, mfa_token: mfaToken },
      factors,
      ...(error ? { error: errorCatalog[error.code as keyof typeof errorCatalog].message, status: error.status } : {}),
      ...(frame.formTarget ? { formTarget: frame.formTarget } : {}),
    });

  app.post(
    `${flow.base}/login`,
    {
      config: limited ? { rateLimit: limited } : {},
      schema: {
        summary: `The ${flow.name} sign-in page posts here (CSRF token required): the password`,
        body: flow.body,
        response: flow.response,
      },
    },
    async (request, reply) => {
      const body = request.body as Body;
      const begun = await flow.begin(request, reply, body);
      if ('sent' in begun) return begun.sent;
      const email = text(body, 'email');
      const signedIn = await passwordSignIn(services, request, reply, email, text(body, 'password'));
      const frame = () => flow.frame(request, reply, begun.ctx);
      if (signedIn.ok === 'second_step')
        return stepPage(frame(), reply, signedIn.challenge.mfaToken, signedIn.challenge.factors);
      if (!signedIn.ok) return signInPage(frame(), reply, email, signedIn);
      return flow.signedIn(request, reply, begun.ctx, signedIn.session);
    },
  );

  app.post(
    `${flow.base}/mfa`,
    {
      config: limited ? { rateLimit: limited } : {},
      schema: {
        summary: `The ${flow.name} sign-in's second step posts here (CSRF token required): a code, a recovery code, or a passkey's answer (passkey_challenge_id, passkey_response)`,
        body: flow.body,
        response: flow.response,
      },
    },
    async (request, reply) => {
      const body = request.body as Body;
      const begun = await flow.begin(request, reply, body);
      if ('sent' in begun) return begun.sent;
      const mfaToken = text(body, 'mfa_token');
      const done = await secondStepSignIn(services, request, reply, {
        mfaToken,
        factorId: text(body, 'factor_id'),
        code: text(body, 'code'),
        recoveryCode: text(body, 'recovery_code'),
        passkeyChallengeId: text(body, 'passkey_challenge_id'),
        passkeyResponse: text(body, 'passkey_response'),
      });
      if (done.ok) return flow.signedIn(request, reply, begun.ctx, done.session);
      const frame = flow.frame(request, reply, begun.ctx);
      // The challenge is spent (or expired): back to the password.
      if (done.code === 'mfa_token_invalid') return signInPage(frame, reply, '', done);
      return stepPage(frame, reply, mfaToken, await services.mfa.secondStep.challengeFactors(mfaToken), done);
    },
  );
}
