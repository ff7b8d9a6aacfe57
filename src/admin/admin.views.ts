import type { ApiKeySummary, CreatedApiKey } from './admin.service.js';
import type { AppSettings } from './admin.store.js';

/**
 * How keys and app settings are shown outside the process: times as ISO 8601 (RFC 3339), as every
 * API answer gives them. The HTTP API and the CLI print the same views.
 */

const iso = (ms: number): string => new Date(ms).toISOString();

export function createdKeyView(
  created: CreatedApiKey,
): Omit<CreatedApiKey, 'createdAt'> & { createdAt: string } {
  return { ...created, createdAt: iso(created.createdAt) };
}

export function keySummaryView(key: ApiKeySummary): Omit<
  ApiKeySummary,
  'createdAt' | 'revokedAt'
> & {
  createdAt: string;
  revokedAt: string | null;
} {
  return {
    ...key,
    createdAt: iso(key.createdAt),
    revokedAt: key.revokedAt === null ? null : iso(key.revokedAt),
  };
}

export function appSettingsView(
  settings: AppSettings,
): Omit<AppSettings, 'createdAt' | 'updatedAt'> & { createdAt: string; updatedAt: string } {
  return { ...settings, createdAt: iso(settings.createdAt), updatedAt: iso(settings.updatedAt) };
}
