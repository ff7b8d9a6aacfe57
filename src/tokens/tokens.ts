import {
  SignJWT,
  exportJWK,
  generateKeyPair,
  importJWK,
  importPKCS8,
  calculateJwkThumbprint,
  type JWK,
  type CryptoKey,
} from 'jose';
import type { Clock } from '../platform/clock.js';
import { DomainError } from '../platform/errors.js';
import type { SigningKeyRecord, SigningKeyStore } from './signing-keys.store.js';

const ALG = 'EdDSA';
/**
 * How stale this instance's view of the active signing key may be. A rotation signs at once on the
 * instance that made it (rotate() switches its key) and on every other instance within this bound:
 * the first token signed after it re-reads the active key (one indexed read a second at most).
 */
export const SIGNING_KEY_REFRESH_MS = 1_000;

export interface TokenClaims {
  subject: string;
  audience: string;
  id: string;
  amr: string[];
  purpose?: string | undefined;
  extra?: Record<string, unknown>;
}

/** Signs short-lived result tokens and publishes the public keys that verify them. */
export interface TokenIssuer {
  sign(claims: TokenClaims): Promise<string>;
  jwks(): Promise<{ keys: JWK[] }>;
  /**
   * Generates a new signing key, retires the others (their public keys stay published until their
   * tokens expire) and signs with it from the next token on this instance; other instances follow
   * within SIGNING_KEY_REFRESH_MS. Throws conflict when the key comes from JWT_PRIVATE_KEY.
   */
  rotate(): Promise<string>;
}

interface ActiveKey {
  kid: string;
  key: CryptoKey;
}

export interface TokenIssuerOptions {
  store: SigningKeyStore;
  clock: Clock;
  issuer: string;
  ttlSeconds: number;
  /** A PKCS#8 PEM Ed25519 private key from the environment; replaces the stored keys when given. */
  privateKeyPem?: string | undefined;
}

export async function createSigningKey(now: number): Promise<SigningKeyRecord> {
  const { privateKey, publicKey } = await generateKeyPair(ALG, {
    crv: 'Ed25519',
    extractable: true,
  });
  const publicJwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  const privateJwk = await exportJWK(privateKey);
  return {
    kid,
    alg: ALG,
    privateJwk: JSON.stringify({ ...privateJwk, kid, alg: ALG }),
    publicJwk: JSON.stringify({ ...publicJwk, kid, alg: ALG, use: 'sig' }),
    createdAt: now,
    retiredAt: null,
  };
}

/** Generates a new signing key and retires the others; their public keys stay published until their tokens expire. */
export async function rotateSigningKey(store: SigningKeyStore, now: number): Promise<string> {
  const record = await createSigningKey(now);
  await store.insert(record);
  await store.retireAllExcept(record.kid, now);
  return record.kid;
}

export async function createTokenIssuer(options: TokenIssuerOptions): Promise<TokenIssuer> {
  const { store, clock, issuer, ttlSeconds } = options;
  let active: ActiveKey | undefined;
  let loadedAt = -Infinity;
  let refreshing: Promise<void> | undefined;
  let envKey: { active: ActiveKey; publicJwk: JWK } | undefined;

  if (options.privateKeyPem) {
    const key = await importPKCS8(options.privateKeyPem, ALG, { extractable: true });
    const jwk = await exportJWK(key);
    const publicJwk: JWK = { kty: jwk.kty, crv: jwk.crv, x: jwk.x };
    const kid = await calculateJwkThumbprint(publicJwk);
    envKey = { active: { kid, key }, publicJwk: { ...publicJwk, kid, alg: ALG, use: 'sig' } };
  }

  const publishable = (now: number): Promise<SigningKeyRecord[]> =>
    // Retired keys stay published for the token lifetime plus a minute of clock skew.
    store.listPublishable(now - (ttlSeconds + 60) * 1000);

  async function refresh(): Promise<void> {
    const now = clock.now();
    if (envKey) {
      active = envKey.active;
    } else {
      let records = await publishable(now);
      if (!records.some((r) => r.retiredAt === null)) {
        await store.insert(await createSigningKey(now));
        records = await publishable(now);
      }
      const newest = records.find((r) => r.retiredAt === null);
      if (!newest) throw new Error('no active signing key');
      if (active?.kid !== newest.kid) {
        active = {
          kid: newest.kid,
          key: (await importJWK(JSON.parse(newest.privateJwk) as JWK, ALG)) as CryptoKey,
        };
      }
    }
    loadedAt = now;
  }

  async function current(): Promise<ActiveKey> {
    if (!active || clock.now() - loadedAt >= SIGNING_KEY_REFRESH_MS) {
      // Concurrent signers share one read instead of each starting its own.
      refreshing ??= refresh().finally(() => (refreshing = undefined));
      await refreshing;
    }
    return active as ActiveKey;
  }

  await refresh();

  return {
    async sign(claims) {
      const key = await current();
      const nowSeconds = Math.floor(clock.now() / 1000);
      const payload: Record<string, unknown> = { ...claims.extra, amr: claims.amr };
      if (claims.purpose !== undefined) payload.purpose = claims.purpose;
      return new SignJWT(payload)
        .setProtectedHeader({ alg: ALG, kid: key.kid, typ: 'JWT' })
        .setIssuer(issuer)
        .setSubject(claims.subject)
        .setAudience(claims.audience)
        .setJti(claims.id)
        .setIssuedAt(nowSeconds)
        .setExpirationTime(nowSeconds + ttlSeconds)
        .sign(key.key);
    },
    // Read from the store on every request, never from this instance's memory: a key another
    // instance created (a rotation, or two instances starting together on an empty database) signs
    // tokens there at once, and a relying party that meets its kid refetches the JWKS from whichever
    // instance its load balancer picks.
    async jwks() {
      await current();
      const stored = (await publishable(clock.now())).map((r) => JSON.parse(r.publicJwk) as JWK);
      return {
        keys: envKey
          ? [envKey.publicJwk, ...stored.filter((k) => k.kid !== envKey?.active.kid)]
          : stored,
      };
    },
    async rotate() {
      // A stored key would be published but never sign: the environment's key always wins.
      if (envKey)
        throw new DomainError('conflict', {
          details: { signingKey: 'JWT_PRIVATE_KEY is set: rotate it there and restart' },
        });
      const kid = await rotateSigningKey(store, clock.now());
      // A refresh already under way may have read the old key: wait for it before switching, so it
      // cannot switch back after us.
      await refreshing;
      await refresh();
      return kid;
    },
  };
}
