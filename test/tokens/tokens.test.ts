import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { createTestApp, startVerification, type TestApp } from '../helpers/test-app.js';

async function approve(t: TestApp): Promise<string> {
  const v = await startVerification(t);
  const response = await t.call('POST', `/v1/verifications/${v.id}/check`, {
    body: { code: t.codeFor(v.id) },
  });
  return ((await response.json()) as { token: string }).token;
}

describe('result tokens and the JWKS', () => {
  it('signs EdDSA tokens with a kid published at /.well-known/jwks.json', async () => {
    const t = await createTestApp();
    try {
      const token = await approve(t);
      const header = decodeProtectedHeader(token);
      expect(header).toMatchObject({ alg: 'EdDSA', typ: 'JWT' });
      const jwks = (await (
        await t.call('GET', '/.well-known/jwks.json', { key: null })
      ).json()) as { keys: { kid: string; d?: string }[] };
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

  it('a rotation signs at once on the instance that made it, and on another instance sharing the database within 1 s', async () => {
    const sqlitePath = join(mkdtempSync(join(tmpdir(), 'otp-rotate-')), 'verify.db');
    const rotating = await createTestApp({ sqlitePath });
    const other = await createTestApp({ sqlitePath });
    try {
      const oldKid = decodeProtectedHeader(await approve(other)).kid;
      expect(decodeProtectedHeader(await approve(rotating)).kid).toBe(oldKid);
      const { kid: newKid } = (await (
        await rotating.call('POST', '/v1/admin/signing-keys/rotate')
      ).json()) as { kid: string };
      expect(newKid).not.toBe(oldKid);
      // No time passes on the rotating instance: its very next token is signed with the new key.
      expect(decodeProtectedHeader(await approve(rotating)).kid).toBe(newKid);
      other.clock.advance(1_000);
      expect(decodeProtectedHeader(await approve(other)).kid).toBe(newKid);
      // Both keys stay published on both instances while tokens signed with the old one are valid.
      for (const t of [rotating, other])
        expect((await t.deps.tokens.jwks()).keys.map((k) => k.kid).sort()).toEqual(
          [oldKid, newKid].sort(),
        );
    } finally {
      rotating.close();
      other.close();
    }
  });

  it('refuses to rotate (409 conflict) when the signing key comes from JWT_PRIVATE_KEY, and keeps signing with it', async () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const t = await createTestApp({ env: { JWT_PRIVATE_KEY: pem } });
    try {
      const kid = decodeProtectedHeader(await approve(t)).kid;
      const refused = await t.call('POST', '/v1/admin/signing-keys/rotate');
      expect(refused.status).toBe(409);
      expect(((await refused.json()) as { reason: string }).reason).toBe('conflict');
      expect(decodeProtectedHeader(await approve(t)).kid).toBe(kid);
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
