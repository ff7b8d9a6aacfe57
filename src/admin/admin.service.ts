import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../platform/clock.js';
import { DomainError } from '../platform/errors.js';
import { isId, newId } from '../platform/ids.js';
import { apiKeySid } from '../platform/twilio-sids.js';
import type { ApiKeyStore, AppSettings, AppSettingsPatch, AppStore } from './admin.store.js';

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
  /** The key as Twilio's SDKs take it: `accountSid` or `apiKeySid` as the Basic user name, `key` as the password. */
  twilio: { accountSid: string; apiKeySid: string };
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
  /** The deployment's Twilio Account sid (platform/twilio-sids.ts accountSidFor). */
  accountSid: string;
}

export interface AdminService {
  /** The deployment's Twilio Account sid, as /v2 answers and its Basic authentication take it. */
  readonly accountSid: string;
  /** The principal for a presented bearer key, or undefined. Comparisons are constant-time. */
  authenticate(presented: string): Promise<Principal | undefined>;
  createKey(input: { app: string; scopes: Scope[] }): Promise<CreatedApiKey>;
  listKeys(): Promise<ApiKeySummary[]>;
  /** Throws not_found when no such active key exists. */
  revokeKey(id: string): Promise<void>;
  getApp(name: string): Promise<AppSettings>;
  /** The app with this Twilio Verify Service sid (one indexed read), or undefined. */
  findAppByServiceSid(sid: string): Promise<AppSettings | undefined>;
  /** Apps, oldest first. */
  listApps(page: { offset: number; limit: number }): Promise<AppSettings[]>;
  /**
   * Creates a new app named `name`, or, when an app has that name, `name-<6 hex>`: never changes an
   * existing app. Throws conflict in the (2^-24-unlikely) case both are taken.
   */
  createApp(name: string, settings: AppSettingsPatch): Promise<AppSettings>;
  updateApp(name: string, settings: AppSettingsPatch): Promise<AppSettings>;
  /** Deletes the app's settings and Service sid (its keys, verifications and events stay). Throws not_found. */
  deleteApp(name: string): Promise<void>;
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

function toSummary(record: {
  id: string;
  app: string;
  scopes: string[];
  createdAt: number;
  revokedAt: number | null;
}): ApiKeySummary {
  return {
    id: record.id,
    app: record.app,
    scopes: record.scopes as Scope[],
    createdAt: record.createdAt,
    revokedAt: record.revokedAt,
  };
}

export function createAdminService(deps: AdminServiceDeps): AdminService {
  const adminDigest = deps.adminApiKey ? sha256(deps.adminApiKey) : undefined;
  const adminPrincipal: Principal = { keyId: 'admin', app: deps.adminApp, scopes: SCOPES };

  return {
    accountSid: deps.accountSid,

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
      await deps.keys.insert({
        id,
        app: input.app,
        scopes,
        secretHash: sha256(secret).toString('hex'),
        createdAt: now,
        revokedAt: null,
      });
      const sid = apiKeySid(id);
      if (sid === undefined) throw new Error(`apiKeySid cannot map ${id}`);
      return {
        id,
        key: `${id}.${secret}`,
        app: input.app,
        scopes,
        createdAt: now,
        twilio: { accountSid: deps.accountSid, apiKeySid: sid },
      };
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

    findAppByServiceSid(sid) {
      return deps.apps.findByServiceSid(sid);
    },

    listApps(page) {
      return deps.apps.list(page);
    },

    async createApp(name, settings) {
      const now = deps.clock.now();
      const created =
        (await deps.apps.create(name, settings, now)) ??
        (await deps.apps.create(
          `${name.slice(0, 56)}-${randomBytes(3).toString('hex')}`,
          settings,
          now,
        ));
      if (!created) throw new DomainError('conflict');
      return created;
    },

    async updateApp(name, settings) {
      return deps.apps.upsert(name, settings, deps.clock.now());
    },

    async deleteApp(name) {
      if (!(await deps.apps.remove(name))) throw new DomainError('not_found');
    },
  };
}
