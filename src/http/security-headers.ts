// The security headers every response carries, computed once from helmet's middleware (the maintained
// source of the set) and kept as a plain record. Routed responses get them from an onRequest hook; the
// edge responses no hook reaches (Node's client errors, bad URLs: src/plugins/edge-errors.ts) write the
// same record, so no answer, however malformed the request, goes out without them.
import type { IncomingMessage, ServerResponse } from 'node:http';
import helmet, { type HelmetOptions } from 'helmet';
import type { Config } from '../config.js';

export type SecurityHeaders = Readonly<Record<string, string>>;

function helmetOptions(config: Config): HelmetOptions {
  return {
    // An API serves no HTML: nothing may load, frame or submit anything.
    contentSecurityPolicy: {
      useDefaults: false,
      directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"], baseUri: ["'none'"], formAction: ["'none'"] },
    },
    strictTransportSecurity: config.hstsMaxAge > 0 ? { maxAge: config.hstsMaxAge, includeSubDomains: true } : false,
    referrerPolicy: { policy: 'no-referrer' },
    // Keys and metadata are public: let verifiers in browsers read them.
    crossOriginResourcePolicy: { policy: 'cross-origin' },
  };
}

export function securityHeaders(config: Config): SecurityHeaders {
  const headers: Record<string, string> = {};
  const res = {
    setHeader: (name: string, value: string) => {
      headers[name.toLowerCase()] = value;
    },
    removeHeader: (name: string) => void delete headers[name.toLowerCase()],
  };
  helmet(helmetOptions(config))({} as IncomingMessage, res as unknown as ServerResponse, () => {});
  return Object.freeze(headers);
}
