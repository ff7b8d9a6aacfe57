import { and, eq, gt, isNull, ne, or, type SQL } from 'drizzle-orm';
import {
  newServiceSid,
  type ApiKeyRecord,
  type AppSettingsPatch,
} from '../../admin/admin.store.js';
import type { Columns, Operand } from './sql.js';

/**
 * The rules of the admin stores (admin/admin.store.ts) and of the signing keys
 * (tokens/signing-keys.store.ts), the same on both dialects.
 */

// Scopes are stored space-separated in one text column.
export function apiKeyRow(key: ApiKeyRecord) {
  return { ...key, scopes: key.scopes.join(' ') };
}

export function asApiKey(row: Omit<ApiKeyRecord, 'scopes'> & { scopes: string }): ApiKeyRecord {
  return { ...row, scopes: row.scopes.split(' ').filter(Boolean) };
}

/** A key that authenticates: this id, never revoked. Revocation is guarded by the same condition, so it succeeds once. */
export function activeKey(k: Columns<'id' | 'revokedAt'>, id: Operand<string>): SQL | undefined {
  return and(eq(k.id, id), isNull(k.revokedAt));
}

/**
 * A new app row with these settings (none: ensure, inserted only if missing). Every row gets its
 * Twilio Verify Service sid when it is inserted; an existing row keeps its own.
 */
export function newApp(name: string, now: number, settings: AppSettingsPatch = {}) {
  return { name, ...settings, twilioServiceSid: newServiceSid(), createdAt: now, updatedAt: now };
}

/** upsert: the app with these settings, or the existing app with only these settings changed. */
export function appUpsert(name: string, settings: AppSettingsPatch, now: number) {
  return { values: newApp(name, now, settings), set: { ...settings, updatedAt: now } };
}

type SigningKeys = Columns<'kid' | 'retiredAt'>;

/** Keys whose tokens may still be valid: not retired, or retired after `retiredAfter`. */
export function publishable(k: SigningKeys, retiredAfter: number): SQL | undefined {
  return or(isNull(k.retiredAt), gt(k.retiredAt, retiredAfter));
}

/** Every key still active but `kid`: what a rotation retires. */
export function activeExcept(k: SigningKeys, kid: string): SQL | undefined {
  return and(ne(k.kid, kid), isNull(k.retiredAt));
}
