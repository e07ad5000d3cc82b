// Bodies are JSON or nothing: every other content type is a 415.
// JSON bodies are parsed with prototype-poisoning protection; malformed JSON is a 400 with its own code.
// An empty body with a JSON content type is accepted as no body (SPAs often send the header on every POST).
// Bytes that aren't UTF-8 are a 400 invalid_encoding, not silently replaced (src/http/utf8.ts).
import fp from 'fastify-plugin';
import sjson from 'secure-json-parse';
import { AppError } from '../errors.js';
import { decodeUtf8 } from '../http/utf8.js';

export default fp(
  async (app) => {
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_req, body, done) => {
      let text: string;
      try {
        text = decodeUtf8(body as Buffer);
      } catch (err) {
        return done(err as Error, undefined);
      }
      if (text.trim() === '') return done(null, undefined);
      try {
        done(null, sjson.parse(text, null, { protoAction: 'error', constructorAction: 'error' }));
      } catch {
        // Not the parser's message: it quotes the body, which may hold a password.
        done(new AppError('malformed_json', { detail: 'body is not valid JSON' }), undefined);
      }
    });
  },
  { name: 'tessera-json-body' },
);
