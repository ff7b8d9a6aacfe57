/**
 * Threat: a route whose scope is decided far from its definition (a path pattern in app.ts) drifts
 * from what the contract says, and a key for one job (sending codes) reaches another (minting keys,
 * reading reports, unblocking numbers). Every /v1 route declares its scope in its definition; this
 * drives each one, as openapi.yaml publishes it, with a key holding every scope but that one.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCOPES, type Scope } from '../../src/admin/admin.service.js';
import { OPENAPI_PATH } from '../../src/wiring/openapi-file.js';
import { createTestApp, expectProblem, type TestApp } from '../helpers/test-app.js';

interface Operation {
  security?: { bearerAuth?: string[] }[];
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;
const document = parse(readFileSync(OPENAPI_PATH, 'utf8')) as {
  paths: Record<string, Partial<Record<(typeof METHODS)[number], Operation>>>;
};
const scoped = Object.entries(document.paths).flatMap(([path, item]) =>
  METHODS.flatMap((method) => {
    const scope = item[method]?.security?.flatMap((requirement) => requirement.bearerAuth ?? [])[0];
    return scope === undefined
      ? []
      : [{ method: method.toUpperCase(), path, scope: scope as Scope }];
  }),
);

describe('every /v1 route declares the API-key scope it needs, and refuses a key without it', () => {
  let t: TestApp;
  const keys = new Map<Scope, string>();
  beforeAll(async () => {
    t = await createTestApp();
    for (const scope of SCOPES)
      keys.set(
        scope,
        await t.createKey(
          'acme',
          SCOPES.filter((s) => s !== scope),
        ),
      );
  });
  afterAll(() => t.close());

  it('publishes a scope for every API-key route of /v1', () => {
    expect(scoped.length).toBeGreaterThan(35);
    const unscoped = Object.entries(document.paths).flatMap(([path, item]) =>
      METHODS.filter(
        (m) =>
          path.startsWith('/v1/') &&
          !path.startsWith('/v1/webhooks/') &&
          item[m] !== undefined &&
          !scoped.some((r) => r.path === path && r.method === m.toUpperCase()),
      ).map((m) => `${m} ${path}`),
    );
    expect(unscoped).toEqual([]);
    for (const route of scoped)
      expect(SCOPES, `${route.method} ${route.path}`).toContain(route.scope);
  });

  it.each(scoped)(
    '$method $path: 403 forbidden without `$scope`, before its body or parameters are looked at',
    async ({ method, path, scope }) => {
      const concrete = path.replaceAll(/{[^}]+}/g, 'x');
      const response = await t.call(method, concrete, {
        key: keys.get(scope)!,
        body: method === 'GET' || method === 'DELETE' ? undefined : {},
      });
      const body = await expectProblem(response, 403, 'forbidden');
      expect(
        body.requiredScope ?? (body.details as Record<string, unknown> | undefined)?.requiredScope,
      ).toBe(scope);
    },
  );
});
