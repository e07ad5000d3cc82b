// Unit tier: rules applied at the edge, with no app: email canonical form, TRUST_PROXY parsing, cross-site
// detection, and the mapping of errors to the catalog.
import t from 'tap';
import type { FastifyRequest } from 'fastify';
import { normalizeEmail, throttleIdentity } from '../../src/domain/accounts/emails.js';
import { ConfigError, loadConfig } from '../../src/config.js';
import { isCrossSiteRequest } from '../../src/plugins/browser-security.js';
import { toAppError } from '../../src/plugins/error-handler.js';
import { DomainError } from '../../src/domain/domain-error.js';
import { AppError } from '../../src/errors.js';

t.test('emails: trimmed, NFKC, lower case; unsafe or mixed-script addresses refused', async (t) => {
  t.equal(normalizeEmail('  Alice.Smith@Example.COM '), 'alice.smith@example.com', 'trimmed and lower-cased');
  t.equal(normalizeEmail('ｂｏｂ@example.com'), 'bob@example.com', 'full-width letters folded by NFKC');
  for (const bad of ['not-an-email', 'a@b', 'two@@example.com', 'nul\u0000@example.com', 'pаypal@example.com']) {
    t.equal(normalizeEmail(bad), null, `refused: ${JSON.stringify(bad)}`);
  }
  t.equal(throttleIdentity(' Not-An-Email '), 'not-an-email', 'throttle key of a non-address: trimmed, lower case');
});

t.test('TRUST_PROXY: off, on, a hop count, or addresses; anything else stops the boot', async (t) => {
  const trust = (v: string) => loadConfig({ TRUST_PROXY: v }).trustProxy;
  t.equal(trust(''), false, 'unset: nobody');
  t.equal(trust('false'), false, 'false');
  t.equal(trust('true'), true, 'true');
  t.equal(trust('2'), 2, 'a hop count');
  t.same(trust('10.0.0.1, 10.1.0.0/16, loopback'), ['10.0.0.1', '10.1.0.0/16', 'loopback'], 'addresses and CIDRs');
  for (const bad of ['yes', '10.0.0.300', 'proxy.example.com', '100']) {
    t.throws(() => loadConfig({ TRUST_PROXY: bad }), ConfigError, `refused: ${bad}`);
  }
});

t.test('cross-site: judged by Sec-Fetch-Site, then Origin, against our origin and the allowed ones', async (t) => {
  const own = 'https://auth.example.com';
  const allowed = new Set(['https://app.example.com']);
  const cross = (headers: Record<string, string>, list = allowed) =>
    isCrossSiteRequest({ headers } as unknown as FastifyRequest, own, list);
  t.equal(cross({ 'sec-fetch-site': 'same-origin' }), false, 'same-origin is enough');
  t.equal(cross({ origin: own }), false, 'our own origin');
  t.equal(cross({ origin: 'https://app.example.com', 'sec-fetch-site': 'same-site' }), false, 'an allowed origin');
  t.equal(cross({ origin: 'https://evil.example' }), true, 'any other origin');
  t.equal(cross({}), false, 'no browser headers: not a browser');
  t.equal(cross({ 'sec-fetch-site': 'none' }), false, 'typed in the address bar');
  t.equal(cross({ 'sec-fetch-site': 'cross-site' }), true, 'cross-site without Origin');
  t.equal(cross({ 'sec-fetch-site': 'same-site' }, new Set()), true, 'same-site when no other origin is allowed');
  t.equal(cross({ 'sec-fetch-site': 'same-site' }), false, 'same-site when SPAs on other origins are expected');
});

t.test(
  'errors map to the catalog: domain errors by code, framework errors by kind, the rest as internal',
  async (t) => {
    const domain = toAppError(new DomainError('email_taken', { detail: 'secret detail', message: 'public' }));
    t.equal(domain.code, 'email_taken', 'a DomainError keeps its code');
    t.equal(domain.statusCode, 409, 'with the status the catalog gives it');
    t.equal(domain.publicMessage, 'public', 'and its public message');
    const locked = toAppError(new DomainError('too_many_requests', { retryAfter: 7 }));
    t.equal(locked.retryAfter, 7, 'Retry-After travels with it');
    const own = new AppError('invalid_token');
    t.equal(toAppError(own), own, 'an AppError passes through');
    const validation = Object.assign(new Error('bad'), {
      validation: [{ instancePath: '/email', message: 'must be string' }],
      validationContext: 'body',
    });
    t.equal(toAppError(validation).code, 'invalid_request', 'schema validation is invalid_request');
    t.equal(
      toAppError(Object.assign(new Error('x'), { statusCode: 413, code: 'FST_ERR_CTP_BODY_TOO_LARGE' })).statusCode,
      413,
      'a framework code keeps its status',
    );
    const internal = toAppError(new Error('connection string postgres://secret'));
    t.equal(internal.code, 'internal_error', 'anything else is internal_error');
    t.equal(internal.statusCode, 500, 'a 500');
    t.notMatch(internal.publicMessage, /postgres|secret/, 'whose public message says nothing about internals');
  },
);
