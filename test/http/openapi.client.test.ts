import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { Middleware } from 'openapi-fetch';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createResponseValidator } from '../helpers/openapi-responses.js';
import { startServer, type ServerProcess } from '../helpers/server-process.js';

/**
 * A client generated from the published contract, against the real server: openapi-typescript
 * turns the document the server serves into types, tsc checks an integrator's program
 * (openapi-client/verify-number.client.js) against them, and the program runs through openapi-fetch
 * with every response held to the schema the document declares for its status. A field, path or
 * status on which the document and the server disagree fails one or the other.
 */

const ROOT = resolve(import.meta.dirname, '../..');
const OUT = join(ROOT, 'test-output/openapi-client');
const PROGRAM = join(import.meta.dirname, 'openapi-client/verify-number.client.js');
const ADMIN = 'client-admin-key-0123456789abcdefghijklmno';
const run = promisify(execFile);

/**
 * How the test calls the program. Loose on purpose: the program's own types come from the generated
 * file, which the project's tsc cannot see; the test's first case is what checks them.
 */
interface Program {
  createApiClient(options: { baseUrl: string; key?: string; middleware?: Middleware }): ApiClient;
  readService(client: ApiClient): Promise<Record<string, unknown>>;
  createVerifyKey(admin: ApiClient, app: string): Promise<{ key: string; status: number }>;
  verifyNumber(
    client: ApiClient,
    options: { to: string; readCode: (verificationId: string) => string },
  ): Promise<{
    started: Record<string, unknown>;
    wrongCode: Record<string, unknown>;
    checked: { token: string } & Record<string, unknown>;
    read: Record<string, unknown>;
  }>;
  startWithBadNumber(client: ApiClient, to: string): Promise<Record<string, unknown>>;
}
type ApiClient = unknown;

async function nodeBin(bin: string, args: string[]): Promise<{ ok: boolean; output: string }> {
  try {
    const { stdout, stderr } = await run(
      process.execPath,
      [join(ROOT, 'node_modules/.bin', bin), ...args],
      { cwd: ROOT, maxBuffer: 32 * 1024 * 1024 },
    );
    return { ok: true, output: stdout + stderr };
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    return { ok: false, output: `${e.stdout ?? ''}${e.stderr ?? ''}` || e.message };
  }
}

function codeFor(outboxPath: string, verificationId: string): string {
  const lines = readFileSync(outboxPath, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { verificationId: string; body: string });
  const body = lines.filter((l) => l.verificationId === verificationId).at(-1)?.body ?? '';
  return /(\d{6})/.exec(body)?.[1] ?? '';
}

describe('a client generated from the served openapi.yaml, against the running server', () => {
  let server: ServerProcess;
  let dataDir: string;
  let served: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'otp-client-'));
    server = await startServer({
      ADMIN_API_KEY: ADMIN,
      DATA_DIR: dataDir,
      SMS_PROVIDER: 'log',
      LOG_PROVIDER_STDOUT: 'false',
      LOG_LEVEL: 'info',
    });
    // The contract as integrators get it: from the service, not from the repository.
    served = await (await fetch(`${server.url}/openapi.yaml`)).text();
    rmSync(OUT, { recursive: true, force: true });
    mkdirSync(OUT, { recursive: true });
    writeFileSync(join(OUT, 'openapi.yaml'), served);
  });
  afterAll(async () => {
    await server?.stop('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('the program type-checks (tsc --strict --checkJs) against the types openapi-typescript generates', async () => {
    const generated = await nodeBin('openapi-typescript', [
      join(OUT, 'openapi.yaml'),
      '--output',
      join(OUT, 'api.d.ts'),
    ]);
    expect(generated.ok, generated.output).toBe(true);
    expect(readFileSync(join(OUT, 'api.d.ts'), 'utf8')).toContain('"/v1/verifications/{id}/check"');
    writeFileSync(
      join(OUT, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          lib: ['ES2023'],
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          allowJs: true,
          checkJs: true,
          noEmit: true,
          skipLibCheck: true,
          types: ['node'],
        },
        files: [PROGRAM],
      }),
    );
    const checked = await nodeBin('tsc', ['-p', join(OUT, 'tsconfig.json')]);
    expect(checked.output).toBe('');
    expect(checked.ok).toBe(true);
  });

  it('start → wrong code (422 problem) → right code → approved, and a bad number (400 invalid_phone), every response as the document declares', async () => {
    const program = (await import(PROGRAM)) as Program;
    const validator = createResponseValidator(
      parse(served) as Parameters<typeof createResponseValidator>[0],
    );
    const admin = program.createApiClient({
      baseUrl: server.url,
      key: ADMIN,
      middleware: validator.middleware,
    });

    expect(await program.readService(admin)).toMatchObject({
      health: 'ok',
      ready: 'ready',
      database: 'ok',
    });
    const { key, status } = await program.createVerifyKey(admin, 'acme');
    expect(status).toBe(201);

    const client = program.createApiClient({
      baseUrl: server.url,
      key,
      middleware: validator.middleware,
    });
    const flow = await program.verifyNumber(client, {
      to: '+14155550123',
      readCode: (id) => codeFor(join(dataDir, 'outbox.jsonl'), id),
    });
    expect(flow.started).toMatchObject({
      httpStatus: 201,
      status: 'pending',
      channel: 'sms',
      attemptsRemaining: 5,
    });
    expect(flow.wrongCode).toEqual({
      httpStatus: 422,
      contentType: 'application/problem+json',
      reason: 'incorrect_code',
      attemptsRemaining: 4,
    });
    expect(flow.checked).toMatchObject({ httpStatus: 200, status: 'approved' });
    expect(flow.checked.token.split('.')).toHaveLength(3);
    expect(flow.read).toMatchObject({ status: 'approved', attempts: 2 });
    expect(flow.read.approvedAt).not.toBeNull();

    expect(await program.startWithBadNumber(client, 'not a number')).toEqual({
      httpStatus: 400,
      contentType: 'application/problem+json',
      reason: 'invalid_phone',
      title: 'The phone number is not valid',
    });

    expect(validator.failures).toEqual([]);
    expect(validator.checked).toEqual([
      'GET /healthz 200 application/json',
      'GET /readyz 200 application/json',
      'GET /.well-known/jwks.json 200 application/json',
      'POST /v1/admin/api-keys 201 application/json',
      'POST /v1/verifications 201 application/json',
      'POST /v1/verifications/{id}/check 422 application/problem+json',
      'POST /v1/verifications/{id}/check 200 application/json',
      'GET /v1/verifications/{id} 200 application/json',
      'POST /v1/verifications 400 application/problem+json',
    ]);
  });

  it('the response check refuses a body or a status the document does not declare', async () => {
    const validator = createResponseValidator(
      parse(served) as Parameters<typeof createResponseValidator>[0],
    );
    const onResponse = validator.middleware.onResponse;
    if (!onResponse) throw new Error('the validator has no onResponse');
    const respond = (body: unknown, status: number) =>
      onResponse({
        request: new Request(`${server.url}/healthz`),
        schemaPath: '/healthz',
        params: {},
        id: 'check',
        options: {} as Parameters<typeof onResponse>[0]['options'],
        response: new Response(JSON.stringify(body), {
          status,
          headers: { 'content-type': 'application/json' },
        }),
      });
    await respond({ status: 'ok' }, 200);
    await respond({ state: 'ok' }, 200);
    await respond({ status: 'ok' }, 418);
    expect(validator.failures).toEqual([
      expect.stringMatching(
        /^GET \/healthz 200 application\/json: body must have required property 'status'/,
      ),
      expect.stringMatching(/^GET \/healthz 418 application\/json: status not declared/),
    ]);
  });
});
