import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import twilio from 'twilio';
import type RequestClient from 'twilio/lib/base/RequestClient.js';
import type { Middleware } from 'openapi-fetch';
import { expect } from 'vitest';
import { parse } from 'yaml';
import { createResponseValidator } from '../helpers/openapi-responses.js';
import type { TestApp } from '../helpers/test-app.js';
import { OPENAPI_PATH } from '../../src/wiring/openapi-file.js';

/**
 * The official `twilio` SDK pointed at a local server. It has no base-URL option (VerifyBase
 * hard-codes https://verify.twilio.com); its one hook is `httpClient`, a RequestClient whose
 * `request` can rewrite the URI, exactly as an integration moving off Twilio would do.
 */
export class LocalRequestClient extends twilio.RequestClient {
  /** Every request the SDK made: method, URI, query parameters and form data, for assertions on the wire. */
  readonly sent: { method: string; uri: string; params: unknown; data: unknown }[] = [];
  /** Every answer it got, as received, for checking against openapi.yaml. */
  readonly received: {
    method: string;
    uri: string;
    status: number;
    contentType: string;
    body: string;
  }[] = [];

  constructor(private readonly base: string) {
    super();
    clients.push(this);
  }

  override async request<TData>(opts: RequestClient.RequestOptions<TData>) {
    const uri = opts.uri.replace('https://verify.twilio.com', this.base);
    this.sent.push({ method: String(opts.method), uri, params: opts.params, data: opts.data });
    const response = await super.request<TData>({ ...opts, uri });
    const headers = response.headers as Record<string, string | undefined>;
    const body =
      typeof response.body === 'string'
        ? response.body
        : response.body === undefined || response.body === null
          ? ''
          : JSON.stringify(response.body);
    this.received.push({
      method: String(opts.method).toUpperCase(),
      uri,
      status: response.statusCode,
      contentType: headers['content-type'] ?? '',
      body,
    });
    return response;
  }
}

/** The SDK clients made since the last documentCheck(). */
const clients: LocalRequestClient[] = [];

/**
 * Holds every answer the SDK received (since the last call) to what openapi.yaml declares for its
 * operation and status: the published contract of /v2 is what the SDK actually got. Returns the
 * mismatches (none expected) and how many answers were checked.
 */
export async function documentCheck(): Promise<{ checked: number; failures: string[] }> {
  const document = parse(readFileSync(OPENAPI_PATH, 'utf8')) as {
    paths: Record<string, Record<string, never>>;
  };
  const validator = createResponseValidator(document);
  const templates = Object.keys(document.paths).map((path) => ({
    path,
    pattern: new RegExp(`^${path.replace(/\{[^}]+\}/g, '[^/]+')}$`),
  }));
  const onResponse = validator.middleware.onResponse as (
    args: Parameters<NonNullable<Middleware['onResponse']>>[0],
  ) => Promise<void>;
  for (const client of clients.splice(0)) {
    for (const answer of client.received) {
      const url = new URL(answer.uri);
      const schemaPath = templates.find((t) => t.pattern.test(url.pathname))?.path ?? url.pathname;
      const request = new Request(url, { method: answer.method });
      const response = new Response(answer.status === 204 ? null : answer.body, {
        status: answer.status,
        headers: { 'content-type': answer.contentType },
      });
      await onResponse({
        request,
        response,
        schemaPath,
        params: {},
        options: {} as never,
        id: 'sdk',
      });
    }
  }
  return { checked: validator.checked.length, failures: validator.failures };
}

export interface RunningServer {
  url: string;
  close(): Promise<void>;
}

/** Serves a test app on 127.0.0.1 at a free port, as main.ts does (@hono/node-server). */
export async function listen(t: TestApp): Promise<RunningServer> {
  const server: ServerType = serve({ fetch: t.app.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise<void>((resolve) => server.once('listening', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // The SDK keeps connections alive; close them so the server stops at once.
        (server as { closeAllConnections?: () => void }).closeAllConnections?.();
      }),
  };
}

export interface SdkClient {
  client: twilio.Twilio;
  http: LocalRequestClient;
}

/** `twilio(username, password, { httpClient, accountSid })` against the local server. */
export function sdk(
  url: string,
  username: string,
  password: string,
  accountSid?: string,
): SdkClient {
  const http = new LocalRequestClient(url);
  return {
    client: twilio(username, password, { httpClient: http, ...(accountSid ? { accountSid } : {}) }),
    http,
  };
}

export interface TwilioCredentials {
  key: string;
  accountSid: string;
  apiKeySid: string;
}

/** Creates an API key through /v1 and returns it with the Twilio sids its answer gives. */
export async function createKeyWithSids(
  t: TestApp,
  app: string,
  scopes: string[],
): Promise<TwilioCredentials> {
  const response = await t.call('POST', '/v1/admin/api-keys', { body: { app, scopes } });
  expect(response.status).toBe(201);
  const body = (await response.json()) as {
    key: string;
    twilio: { accountSid: string; apiKeySid: string };
  };
  return { key: body.key, ...body.twilio };
}

/** What a call through the SDK threw: its RestException (status, code, moreInfo), or a failure. */
export async function rejection(promise: Promise<unknown>): Promise<{
  status: number;
  code?: number | undefined;
  message: string;
  moreInfo?: string | undefined;
  name: string;
}> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(twilio.RestException);
    return error as InstanceType<typeof twilio.RestException>;
  }
  throw new Error('expected the SDK to throw');
}
