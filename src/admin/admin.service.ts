import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../platform/clock.js';
import { DomainError } from '../platform/errors.js';
import { isId, newId } from '../platform/ids.js';
import type { ApiKeyStore, AppSettings, AppStore } from './admin.store.js';

export const SCOPES = ['verify', 'factors', 'optin', 'reports', 'security', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

/** Who is calling: the app a key belongs to and what it may do. */
export interface Principal {
  keyId: string;
  app: string;
  scopes: readonly Scope[];
}

export interface CreatedApiKey {
  id: string;
  key: string;
  app: string;
  scopes: Scope[];
  createdAt: number;
}

export interface ApiKeySummary {
  id: string;
  app: string;
  scopes: Scope[];
  createdAt: number;
  revokedAt: number | null;
}

export interface AdminServiceDeps {
  keys: ApiKeyStore;
  apps: AppStore;
  clock: Clock;
  /** ADMIN_API_KEY, when set: a key with every scope acting for `adminApp`. */
  adminApiKey?: string | undefined;
  adminApp: string;
}

export interface AdminService {
  /** The principal for a presented bearer key, or undefined. Comparisons are constant-time. */
  authenticate(presented: string): Promise<Principal | undefined>;
  createKey(input: { app: string; scopes: Scope[] }): Promise<CreatedApiKey>;
  listKeys(): Promise<ApiKeySummary[]>;
  /** Throws not_found when no such active key exists. */
  revokeKey(id: string): Promise<void>;
  getApp(name: string): Promise<AppSettings>;
  updateApp(name: string, settings: { brand?: string | null; codeLength?: number | null; webOtpDomain?: string | null }): Promise<AppSettings>;
}

const sha256 = (value: string): Buffer => createHash('sha256').update(value).digest();

/** Keys look like `key_<26 chars id>.<43 chars secret>`; the secret carries 256 random bits. */
function splitKey(presented: string): { id: string; secret: string } | undefined {
  const dot = presented.indexOf('.');
  if (dot < 0) return undefined;
  const id = presented.slice(0, dot);
  const secret = presented.slice(dot + 1);
  if (!isId('key', id) || !/^[A-Za-z0-9_-]{43}$/.test(secret)) return undefined;
  return { id, secret };
}

function toSummary(record: { id: string; app: string; scopes: string[]; createdAt: number; revokedAt: number | null }): ApiKeySummary {
  return { id: record.id, app: record.app, scopes: record.scopes as Scope[], createdAt: record.createdAt, revokedAt: record.revokedAt };
}

export function createAdminService(deps: AdminServiceDeps): AdminService {
  const adminDigest = deps.adminApiKey ? sha256(deps.adminApiKey) : undefined;
  const adminPrincipal: Principal = { keyId: 'admin', app: deps.adminApp, scopes: SCOPES };

  return {
    async authenticate(presented) {
      // Compare digests, not strings: equal length, and timingSafeEqual leaks nothing of the key.
      if (adminDigest && timingSafeEqual(sha256(presented), adminDigest)) return adminPrincipal;
      const parts = splitKey(presented);
      if (!parts) return undefined;
      const record = await deps.keys.findActive(parts.id);
      if (!record) return undefined;
      const stored = Buffer.from(record.secretHash, 'hex');
      if (!timingSafeEqual(sha256(parts.secret), stored)) return undefined;
      return { keyId: record.id, app: record.app, scopes: record.scopes as Scope[] };
    },

    async createKey(input) {
      const now = deps.clock.now();
      const id = newId('key', now);
      const secret = randomBytes(32).toString('base64url');
      const scopes = [...new Set(input.scopes)];
      await deps.apps.ensure(input.app, now);
      await deps.keys.insert({ id, app: input.app, scopes, secretHash: sha256(secret).toString('hex'), createdAt: now, revokedAt: null });
      return { id, key: `${id}.${secret}`, app: input.app, scopes, createdAt: now };
    },

    async listKeys() {
      return (await deps.keys.list()).map(toSummary);
    },

    async revokeKey(id) {
      if (!(await deps.keys.revoke(id, deps.clock.now()))) throw new DomainError('not_found');
    },

    async getApp(name) {
      const app = await deps.apps.get(name);
      if (!app) throw new DomainError('not_found');
      return app;
    },

    async updateApp(name, settings) {
      return deps.apps.upsert(name, settings, deps.clock.now());
    },
  };
}
