import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { createTestApp, startVerification, type TestApp } from '../helpers/test-app.js';

async function approve(t: TestApp): Promise<string> {
  const v = await startVerification(t);
  const response = await t.call('POST', `/v1/verifications/${v.id}/check`, { body: { code: t.codeFor(v.id) } });
  return ((await response.json()) as { token: string }).token;
}

describe('result tokens and the JWKS', () => {
  it('signs EdDSA tokens with a kid published at /.well-known/jwks.json', async () => {
    const t = await createTestApp();
    try {
      const token = await approve(t);
      const header = decodeProtectedHeader(token);
      expect(header).toMatchObject({ alg: 'EdDSA', typ: 'JWT' });
      const jwks = (await (await t.call('GET', '/.well-known/jwks.json', { key: null })).json()) as { keys: { kid: string; d?: string }[] };
      expect(jwks.keys.map((k) => k.kid)).toContain(header.kid);
      expect(jwks.keys.every((k) => k.d === undefined)).toBe(true);
    } finally {
      t.close();
    }
  });

  it('rotation keeps the old public key published until its tokens expire, then drops it', async () => {
    const t = await createTestApp();
    try {
      const before = await approve(t);
      const oldKid = decodeProtectedHeader(before).kid;
      const rotated = await t.call('POST', '/v1/admin/signing-keys/rotate');
      const { kid: newKid } = (await rotated.json()) as { kid: string };
      expect(newKid).not.toBe(oldKid);
      t.clock.advance(61_000); // past the key cache refresh
      const after = await approve(t);
      expect(decodeProtectedHeader(after).kid).toBe(newKid);

      const jwks = createLocalJWKSet(await t.deps.tokens.jwks());
      await jwtVerify(before, jwks, { currentDate: new Date(t.clock.now() - 60_000) });
      await jwtVerify(after, jwks, { currentDate: new Date(t.clock.now()) });

      t.clock.advance(400_000); // token TTL (300 s) + skew (60 s) after retirement
      const later = (await t.deps.tokens.jwks()).keys.map((k) => k.kid);
      expect(later).toEqual([newKid]);
    } finally {
      t.close();
    }
  });

  it('keeps signing keys across restarts of the same database', async () => {
    const sqlitePath = join(mkdtempSync(join(tmpdir(), 'otp-keys-')), 'verify.db');
    const first = await createTestApp({ sqlitePath });
    const kidBefore = (await first.deps.tokens.jwks()).keys[0]!.kid;
    first.close();
    const second = await createTestApp({ sqlitePath });
    try {
      expect((await second.deps.tokens.jwks()).keys.map((k) => k.kid)).toEqual([kidBefore]);
    } finally {
      second.close();
    }
  });
});
