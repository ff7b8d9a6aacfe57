/**
 * Threat: a copy of the database (backup, stolen disk, SQL injection elsewhere) reveals every
 * authenticator secret, letting the thief generate valid codes forever. Secrets must be encrypted
 * under a key that is not in the database, bound to their row, and re-encryptable when keys rotate.
 */
import { readFileSync, existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ScureBase32Plugin } from 'otplib';
import { beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { createSecretBox, parseSealingKeys } from '../../src/factors/secret-box.js';
import { appCode, enrollVerified, STEP_MS } from '../helpers/factors.js';
import { createFakeClock } from '../helpers/fake-clock.js';
import { createTestApp, type TestApp } from '../helpers/test-app.js';
import { productionEnvWithout } from '../helpers/production-env.js';

const K1 = `k1:${Buffer.alloc(32, 1).toString('base64')}`;
const K2 = `k2:${Buffer.alloc(32, 2).toString('base64')}`;

describe('factor secrets at rest', () => {
  let dir: string;
  let path: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'otp-factors-'));
    path = join(dir, 'verify.db');
  });

  it('never writes the secret in clear to the database file (base32, raw bytes or hex)', async () => {
    const t = await createTestApp({ sqlitePath: path });
    const factor = await enrollVerified(t);
    const raw = Buffer.from(new ScureBase32Plugin().decode(factor.secret));
    t.close(); // checkpoints the WAL into the file
    const files = [path, `${path}-wal`].filter(existsSync).map((p) => readFileSync(p));
    expect(files.length).toBeGreaterThan(0);
    for (const bytes of files) {
      expect(bytes.includes(Buffer.from(factor.secret))).toBe(false);
      expect(bytes.includes(raw)).toBe(false);
      expect(bytes.includes(Buffer.from(raw.toString('hex')))).toBe(false);
      expect(bytes.includes(Buffer.from(raw.toString('base64')))).toBe(false);
    }
    const again = await createTestApp({ sqlitePath: path });
    const row = again.database.raw.prepare('SELECT secret_sealed FROM factors').get() as {
      secret_sealed: string;
    };
    expect(row.secret_sealed).toMatch(/^v1\.dev\.[\w-]{16}\.[\w-]+\.[\w-]{22}$/);
    again.close();
  });

  it('rotates keys: a new first key seals, old keys still open, `reseal` moves every secret to the new key', async () => {
    const clock = createFakeClock();
    let t: TestApp = await createTestApp({
      sqlitePath: path,
      clock,
      env: { FACTOR_ENCRYPTION_KEYS: K1 },
    });
    const factor = await enrollVerified(t);
    t.close();

    t = await createTestApp({
      sqlitePath: path,
      clock,
      env: { FACTOR_ENCRYPTION_KEYS: `${K2},${K1}` },
    });
    clock.advance(STEP_MS);
    expect(
      (
        await t.call('POST', `/v1/factors/${factor.id}/challenge`, {
          body: { code: await appCode(factor.secret, clock.now()) },
        })
      ).status,
    ).toBe(200);
    expect(await t.deps.factors.reseal(100)).toBe(1);
    expect(await t.deps.factors.reseal(100)).toBe(0);
    expect(
      (
        t.database.raw.prepare('SELECT secret_sealed FROM factors').get() as {
          secret_sealed: string;
        }
      ).secret_sealed,
    ).toMatch(/^v1\.k2\./);
    t.close();

    t = await createTestApp({ sqlitePath: path, clock, env: { FACTOR_ENCRYPTION_KEYS: K2 } });
    clock.advance(STEP_MS);
    expect(
      (
        await t.call('POST', `/v1/factors/${factor.id}/challenge`, {
          body: { code: await appCode(factor.secret, clock.now()) },
        })
      ).status,
    ).toBe(200);
    t.close();
  });

  it('answers a bare 500 (no detail, nothing of the secret) when a needed key was removed too early', async () => {
    const clock = createFakeClock();
    let t = await createTestApp({ sqlitePath: path, clock, env: { FACTOR_ENCRYPTION_KEYS: K1 } });
    const factor = await enrollVerified(t);
    t.close();
    t = await createTestApp({ sqlitePath: path, clock, env: { FACTOR_ENCRYPTION_KEYS: K2 } });
    clock.advance(STEP_MS);
    const response = await t.call('POST', `/v1/factors/${factor.id}/challenge`, {
      body: { code: await appCode(factor.secret, clock.now()) },
    });
    expect(response.status).toBe(500);
    expect(await response.text()).not.toMatch(/k1|k2|sealed|secret|\n\s+at /);
    t.close();
  });
});

describe('the secret box', () => {
  const box = createSecretBox(parseSealingKeys(`${K1}`).keys);

  it('opens what it sealed, only with the same associated data (a secret moved to another factor does not open)', () => {
    const sealed = box.seal(Buffer.from('secret bytes'), 'fac_a');
    expect(box.open(sealed, 'fac_a').toString()).toBe('secret bytes');
    expect(() => box.open(sealed, 'fac_b')).toThrow();
  });

  it('detects any change to the ciphertext or tag', () => {
    const sealed = box.seal(Buffer.from('secret bytes'), 'fac_a');
    const parts = sealed.split('.');
    const flip = (s: string) => (s[0] === 'A' ? 'B' : 'A') + s.slice(1);
    expect(() =>
      box.open([parts[0], parts[1], parts[2], flip(parts[3]!), parts[4]].join('.'), 'fac_a'),
    ).toThrow();
    expect(() =>
      box.open([parts[0], parts[1], parts[2], parts[3], flip(parts[4]!)].join('.'), 'fac_a'),
    ).toThrow();
  });

  it('uses a fresh IV every time', () => {
    expect(box.seal(Buffer.from('x'), 'a')).not.toBe(box.seal(Buffer.from('x'), 'a'));
  });
});

describe('FACTOR_ENCRYPTION_KEYS configuration', () => {
  const production = productionEnvWithout('FACTOR_ENCRYPTION_KEYS');

  it('is required in production, with a message saying how to make one', () => {
    expect(() => loadConfig(production)).toThrow(
      /FACTOR_ENCRYPTION_KEYS is required when NODE_ENV=production/,
    );
    expect(
      loadConfig({
        ...production,
        FACTOR_ENCRYPTION_KEYS: `${K2},${K1}`,
      }).factors.encryptionKeys?.map((k) => k.kid),
    ).toEqual(['k2', 'k1']);
  });

  it('refuses short keys, bad ids and duplicates, listing every problem', () => {
    try {
      loadConfig({
        FACTOR_ENCRYPTION_KEYS: `a:${Buffer.alloc(16).toString('base64')},b c:${Buffer.alloc(32).toString('base64')},${K1},${K1}`,
      });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const problems = (error as ConfigError).problems.join('\n');
      expect(problems).toMatch(/key "a" must be 32 bytes/);
      expect(problems).toMatch(/entry 2 must look like/);
      expect(problems).toMatch(/key id "k1" appears twice/);
    }
  });
});
