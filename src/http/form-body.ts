// The one parser of application/x-www-form-urlencoded bodies, for every OAuth endpoint (token, introspection,
// revocation, authorize, userinfo/logout): RFC 6749 sends forms. formbody hands over the body already decoded,
// invalid bytes as U+FFFD: those are refused (percent-encoded invalid sequences stay literal "%FF" and collide
// with nothing). 16 KiB, like the JSON bodies.
import type { FastifyInstance } from 'fastify';
import formBody from '@fastify/formbody';
import { parse } from 'fast-querystring';
import { assertNoReplacementCharacter } from './utf8.js';

/** Registers the form parser on `fastify` (the route plugin's own scope). */
export async function acceptForms(fastify: FastifyInstance): Promise<void> {
  await fastify.register(formBody, {
    bodyLimit: 16 * 1024,
    parser: (body) => {
      assertNoReplacementCharacter(body);
      return parse(body);
    },
  });
}
