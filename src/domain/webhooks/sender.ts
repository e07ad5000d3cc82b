// One HTTP delivery of one event, as the Standard Webhooks specification has it: a POST of the JSON payload
// with webhook-id (the event's stable id, for the receiver's deduplication), webhook-timestamp (this attempt)
// and webhook-signature (one `v1,<base64>` per live secret, space-separated, so a receiver holding either
// secret accepts it during a rotation). Signing is the `standardwebhooks` library's, the one receivers use.
//
// Safe by construction: the host is resolved and checked (address-guard.ts) and the socket pinned to that
// address; redirects are never followed (a 3xx is a failed attempt); the whole exchange has one deadline; at
// most RESPONSE_BYTES of the answer are read and only a short excerpt is kept.
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { AddressRefused, pinAddress } from './address-guard.js';

const RESPONSE_BYTES = 4096;
/** What of a receiver's answer is kept for admins: enough to see an error message, never a whole page. */
const EXCERPT_CHARS = 256;

export interface Outgoing {
  url: string;
  eventId: string;
  payload: string;
  /** The `whsec_` secrets to sign with (the current one, and the previous one during an overlap). */
  secrets: string[];
  at: Date;
}

export interface Outcome {
  ok: boolean;
  /** The HTTP status, when the receiver answered. */
  status: number | null;
  /** Why it failed (never the payload). */
  error: string | null;
  excerpt: string | null;
}

export interface SendRules {
  timeoutMs: number;
  allowPrivateAddresses: boolean;
  /** http:// (an endpoint saved before production refused it is not sent to in the clear). */
  allowHttp: boolean;
}

/** The webhook-signature header: one signature per secret. */
function signatures(secrets: string[], eventId: string, at: Date, payload: string): string {
  return secrets.map((s) => new Webhook(s).sign(eventId, at, payload)).join(' ');
}

export async function send(out: Outgoing, rules: SendRules): Promise<Outcome> {
  const url = new URL(out.url);
  if (url.protocol === 'http:' && !rules.allowHttp)
    return { ok: false, status: null, error: 'http:// refused in production (WEBHOOK_ALLOW_HTTP)', excerpt: null };
  let pinned: { address: string; family: 4 | 6 };
  try {
    pinned = await pinAddress(url, rules.allowPrivateAddresses);
  } catch (err) {
    if (err instanceof AddressRefused) return { ok: false, status: null, error: err.message, excerpt: null };
    throw err;
  }
  const lookup: LookupFunction = (_host, options, callback) => {
    if ((options as { all?: boolean }).all)
      (callback as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [pinned]);
    else callback(null, pinned.address, pinned.family);
  };
  const body = Buffer.from(out.payload, 'utf8');
  const headers = {
    'content-type': 'application/json',
    'content-length': String(body.length),
    'user-agent': 'Tessera-Webhooks/1',
    'webhook-id': out.eventId,
    'webhook-timestamp': String(Math.floor(out.at.getTime() / 1000)),
    'webhook-signature': signatures(out.secrets, out.eventId, out.at, out.payload),
  };
  const client = url.protocol === 'https:' ? https : http;
  return new Promise<Outcome>((resolve) => {
    let settled = false;
    const finish = (outcome: Outcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      request.destroy();
      resolve(outcome);
    };
    const request = client.request(url, { method: 'POST', headers, lookup, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const done = () => {
        const status = response.statusCode ?? 0;
        // Text only: invalid UTF-8 becomes U+FFFD, and NUL (which PostgreSQL text refuses) is dropped, so any
        // answer, binary included, can be recorded.
        const excerpt = Buffer.concat(chunks).toString('utf8').replaceAll('\u0000', '').slice(0, EXCERPT_CHARS) || null;
        const ok = status >= 200 && status < 300;
        const error = ok ? null : status >= 300 && status < 400 ? `redirect ${status} not followed` : `HTTP ${status}`;
        finish({ ok, status, error, excerpt });
      };
      response.on('data', (chunk: Buffer) => {
        if (size < RESPONSE_BYTES) chunks.push(chunk.subarray(0, RESPONSE_BYTES - size));
        size += chunk.length;
        if (size >= RESPONSE_BYTES) done();
      });
      response.on('end', done);
      response.on('error', done);
    });
    const deadline = setTimeout(
      () => finish({ ok: false, status: null, error: `no answer within ${rules.timeoutMs} ms`, excerpt: null }),
      rules.timeoutMs,
    );
    request.on('error', (err: NodeJS.ErrnoException) =>
      finish({ ok: false, status: null, error: err.code ?? 'connection failed', excerpt: null }),
    );
    request.end(body);
  });
}
