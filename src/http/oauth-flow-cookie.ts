// The cookie that binds a sign-in with a provider to the browser that started it. It holds only a random
// key (src/domain/federation/flows.ts keeps the state, nonce and PKCE verifier server-side under its hash).
// SameSite=Lax, not Strict: the browser comes back from the provider in a cross-site top-level navigation,
// which Lax cookies survive. HttpOnly and Secure always, with the __Host- prefix like the refresh cookie
// (browsers accept Secure cookies from http://localhost, so development and tests work the same).
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { CookieSerializeOptions } from '@fastify/cookie';
import { FLOW_TTL_SECONDS } from '../domain/federation/flows.js';

export const FLOW_COOKIE = '__Host-tessera_oauth';
const options: CookieSerializeOptions = { httpOnly: true, secure: true, sameSite: 'lax', path: '/' };

export function setFlowCookie(reply: FastifyReply, key: string): void {
  reply.setCookie(FLOW_COOKIE, key, { ...options, maxAge: FLOW_TTL_SECONDS });
}

export function readFlowCookie(request: FastifyRequest): string | undefined {
  return request.cookies[FLOW_COOKIE] || undefined;
}

export function clearFlowCookie(reply: FastifyReply): void {
  reply.clearCookie(FLOW_COOKIE, options);
}
