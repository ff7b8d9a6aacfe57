import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { guardedLookup } from './ssrf.js';

/** What a receiver answered, or why there was no answer. */
export type SendOutcome =
  { ok: boolean; status: number; response: string } | { ok: false; status: null; error: string };

export interface SendOptions {
  timeoutMs: number;
  allowPrivate: boolean;
  /** Bytes of the response body kept (the rest is discarded unread). */
  keepBytes?: number;
}

/** Bodies larger than this are not sent (the events are far smaller). */
export const MAX_BODY_BYTES = 64 * 1024;

export type Sender = (
  url: string,
  headers: Record<string, string>,
  body: string,
) => Promise<SendOutcome>;

/**
 * POSTs one webhook over node:http(s): the destination resolved and checked by guardedLookup and
 * the socket pinned to that address, no redirect followed (a 3xx is a failed attempt), the whole
 * exchange bounded by the timeout, at most `keepBytes` of the answer kept.
 */
export function createSender(options: SendOptions): Sender {
  const lookup = guardedLookup(options.allowPrivate);
  const keep = options.keepBytes ?? 1024;
  return (url, headers, body) =>
    new Promise<SendOutcome>((resolve) => {
      const bytes = Buffer.from(body, 'utf8');
      if (bytes.length > MAX_BODY_BYTES) {
        resolve({ ok: false, status: null, error: 'body_too_large' });
        return;
      }
      let target: URL;
      try {
        target = new URL(url);
      } catch {
        resolve({ ok: false, status: null, error: 'invalid_url' });
        return;
      }
      const request = target.protocol === 'https:' ? httpsRequest : httpRequest;
      let settled = false;
      const done = (outcome: SendOutcome) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(outcome);
      };
      const req = request(
        target,
        {
          method: 'POST',
          headers: {
            ...headers,
            'content-type': 'application/json',
            'content-length': String(bytes.length),
            'user-agent': 'otp-verify-webhooks/1',
          },
          lookup: lookup,
          agent: false,
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            if (size < keep) chunks.push(chunk.subarray(0, keep - size));
            size += chunk.length;
            if (size >= keep) res.destroy();
          });
          const finish = () => {
            const status = res.statusCode ?? 0;
            done({
              ok: status >= 200 && status < 300,
              status,
              response: Buffer.concat(chunks).toString('utf8').slice(0, keep),
            });
          };
          res.on('end', finish);
          res.on('close', finish);
          res.on('error', finish);
        },
      );
      const timer = setTimeout(() => {
        req.destroy(new Error(`timeout after ${options.timeoutMs} ms`));
      }, options.timeoutMs);
      req.on('error', (error: Error & { rule?: string; code?: string }) => {
        const named = error.rule ? `refused_${error.rule}: ${error.message}` : error.message;
        done({ ok: false, status: null, error: named || String(error.code ?? 'error') });
      });
      req.end(bytes);
    });
}
