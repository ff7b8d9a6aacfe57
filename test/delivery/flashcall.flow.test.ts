import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createDeps } from '../../src/deps.js';
import { createLogger } from '../../src/platform/logger.js';
import { openSqlite } from '../../src/storage/sqlite/db.js';
import { createFakeClock } from '../helpers/fake-clock.js';
import {
  createTestApp,
  expectProblem,
  PEPPER,
  startVerification,
  type TestApp,
} from '../helpers/test-app.js';
import { callFor, flashCallsIn, getVerification, RANGES } from './helpers.js';
import { resolveSecrets } from '../../src/wiring/secrets.js';

describe('flash call: the code is the last digits of the number that rings', () => {
  let t: TestApp;
  afterEach(() => t.close());

  it('places a call from a number in the ranges and approves its last 6 digits', async () => {
    t = await createTestApp({ env: { FLASHCALL_RANGES: RANGES } });
    const started = await startVerification(t, { to: '+33612345678', channel: 'flashcall' });
    expect(started).toMatchObject({ channel: 'flashcall', codeLength: 6, status: 'pending' });
    const { from, to } = callFor(t, started.id);
    expect(to).toBe('+33612345678');
    expect(from).toMatch(/^\+(33187|442079)\d{6}$/);
    expect((started as unknown as { callerIdPrefix: string }).callerIdPrefix).toBe(
      from.slice(0, -6),
    );
    expect(started.deliveries).toEqual([
      expect.objectContaining({ channel: 'flashcall', provider: 'log', status: 'sent' }),
    ]);
    // The response never carries the calling number (it is the code).
    expect(JSON.stringify(started)).not.toContain(from);

    const response = await t.call('POST', `/v1/verifications/${started.id}/check`, {
      body: { code: from.slice(-6) },
    });
    expect(response.status).toBe(200);
    const result = (await response.json()) as { channel: string; token: string };
    expect(result.channel).toBe('flashcall');
    expect(await t.verifyToken(result.token, 'default')).toMatchObject({ amr: ['flashcall'] });
  });

  it('accepts the full calling number in E.164, as an app reading the call log sends it', async () => {
    t = await createTestApp({ env: { FLASHCALL_RANGES: RANGES } });
    const started = await startVerification(t, { to: '+33612345678', channel: 'flashcall' });
    const { from } = callFor(t, started.id);
    // The right last digits behind a prefix that never called are not the calling number.
    const wrongPrefix = `+33188${from.slice(-6)}`;
    const wrong = await t.call('POST', `/v1/verifications/${started.id}/check`, {
      body: { code: wrongPrefix },
    });
    await expectProblem(wrong, 422, 'incorrect_code');
    const response = await t.call('POST', '/v1/verifications/check', {
      body: { to: '+33612345678', code: from },
    });
    expect(response.status).toBe(200);
  });

  it('calls a landline instead of texting it under auto', async () => {
    t = await createTestApp({ env: { FLASHCALL_RANGES: RANGES } });
    const started = await startVerification(t, { to: '+33142685300', channel: 'auto' });
    expect(started.channel).toBe('flashcall');
    expect(flashCallsIn(t, started.id)).toBe(1);
    expect(t.outbox().filter((l) => l.channel === 'sms')).toHaveLength(0);
    const mobile = await startVerification(t, { to: '+33612345678', channel: 'auto' });
    expect(mobile.channel).toBe('sms');
  });

  it('refuses flashcall with channel_unavailable when no ranges are configured', async () => {
    t = await createTestApp();
    const response = await t.call('POST', '/v1/verifications', {
      body: { to: '+33612345678', channel: 'flashcall' },
    });
    await expectProblem(response, 422, 'channel_unavailable');
    expect(t.outbox()).toHaveLength(0);
  });

  it('gives 4-digit codes from small ranges only 3 attempts, and warns at start-up', async () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const config = loadConfig({
      NODE_ENV: 'test',
      OTP_PEPPER: PEPPER,
      FLASHCALL_RANGES: '+442079460000-+442079469999',
      LOG_PROVIDER_STDOUT: 'false',
      DATA_DIR: mkdtempSync(join(tmpdir(), 'otp-flash-')),
    });
    const database = openSqlite(':memory:');
    await createDeps({
      config,
      database,
      clock: createFakeClock(),
      logger: createLogger({ level: 'warn', destination }),
      secrets: resolveSecrets(config),
    });
    database.close();
    expect(lines.join('')).toMatch(/4-digit codes, under the 20 bits of OWASP ASVS 2\.7\.6/);

    t = await createTestApp({ env: { FLASHCALL_RANGES: '+442079460000-+442079469999' } });
    const started = await startVerification(t, { to: '+33612345678', channel: 'flashcall' });
    expect(started).toMatchObject({ codeLength: 4, attemptsRemaining: 3 });
    const { from } = callFor(t, started.id);
    const wrong = String((Number(from.slice(-4)) + 1) % 10_000).padStart(4, '0');
    for (let i = 0; i < 3; i++)
      await t.call('POST', `/v1/verifications/${started.id}/check`, { body: { code: wrong } });
    const locked = await t.call('POST', `/v1/verifications/${started.id}/check`, {
      body: { code: from.slice(-4) },
    });
    await expectProblem(locked, 429, 'max_attempts_exceeded');
    expect((await getVerification(t, started.id)).status).toBe('max_attempts_exceeded');
  });
});
