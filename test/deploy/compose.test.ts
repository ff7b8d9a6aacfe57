/**
 * compose.yaml is documentation that runs: a variable misspelt there is silently ignored by the
 * service, and a missing production secret stops every instance at start. No Docker engine runs in
 * CI, so the file is checked against the configuration itself.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ENV_NAMES, loadConfig } from '../../src/config.js';

const ROOT = resolve(import.meta.dirname, '../..');

interface ComposeService {
  build?: string;
  image?: string;
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
}

const compose = parse(readFileSync(resolve(ROOT, 'compose.yaml'), 'utf8'), { merge: true }) as {
  services: Record<string, ComposeService>;
};
const verifyServices = Object.entries(compose.services).filter(([, s]) => s.build === '.');

/** `${NAME:?…}` / `${NAME:-default}` / `${NAME}` as docker compose substitutes them, from `values`. */
function substitute(value: string, values: Record<string, string>): string {
  return value.replace(
    /\$\{([A-Z_]+)(?::([?-])([^}]*))?\}/g,
    (_, name: string, op: string | undefined, rest: string) => {
      if (values[name] !== undefined && values[name] !== '') return values[name];
      if (op === '?') throw new Error(`compose would stop: ${name} unset (${rest})`);
      return op === '-' ? rest : '';
    },
  );
}

/** What an operator puts in .env: .env.example's names, each with a strong value. */
function filledEnvExample(): Record<string, string> {
  const names = readFileSync(resolve(ROOT, '.env.example'), 'utf8')
    .split('\n')
    .filter((l) => /^[A-Z_]+=/.test(l))
    .map((l) => l.split('=')[0]!);
  const values: Record<string, string> = {};
  for (const name of names) values[name] = randomBytes(32).toString('base64');
  values.FACTOR_ENCRYPTION_KEYS = `k1:${randomBytes(32).toString('base64')}`;
  values.SMS_HTTP_URL = 'https://sms-gateway.internal/send';
  return values;
}

describe('compose.yaml', () => {
  it('runs at least two instances of the service, on PostgreSQL and Redis, after both are healthy', () => {
    expect(verifyServices.length).toBeGreaterThanOrEqual(2);
    for (const [, service] of verifyServices) {
      expect(service.environment?.DATABASE_URL).toMatch(/^postgres:\/\//);
      expect(service.environment?.REDIS_URL).toMatch(/^redis:\/\//);
      expect(service.depends_on).toEqual({
        postgres: { condition: 'service_healthy' },
        redis: { condition: 'service_healthy' },
      });
    }
    expect(compose.services.postgres?.healthcheck).toBeDefined();
    expect(compose.services.redis?.healthcheck).toBeDefined();
  });

  it('sets only variables the service reads, and LIMITS_INSTANCES to the number of instances', () => {
    for (const [, service] of verifyServices) {
      const unknown = Object.keys(service.environment ?? {}).filter(
        (name) => !ENV_NAMES.includes(name),
      );
      expect(unknown).toEqual([]);
      expect(Number(service.environment?.LIMITS_INSTANCES)).toBe(verifyServices.length);
    }
  });

  it('gives each instance a configuration production accepts, once .env.example is filled in', () => {
    const values = filledEnvExample();
    for (const [, service] of verifyServices) {
      const env = Object.fromEntries(
        Object.entries(service.environment ?? {}).map(([k, v]) => [
          k,
          substitute(String(v), values),
        ]),
      );
      const config = loadConfig(env);
      expect(config.env).toBe('production');
      expect(config.database.kind).toBe('postgres');
      expect(config.limits.redisUrl).toBe('redis://redis:6379');
    }
  });

  it('stops with a message naming the secret when .env lacks one', () => {
    const values = filledEnvExample();
    delete values.OTP_PEPPER;
    const env = verifyServices[0]![1].environment ?? {};
    expect(() =>
      Object.fromEntries(Object.entries(env).map(([k, v]) => [k, substitute(String(v), values)])),
    ).toThrow(/OTP_PEPPER unset/);
  });
});
