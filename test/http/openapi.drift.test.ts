import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateOpenApiYaml } from '../../src/cli.js';
import { createTestApp, type TestApp } from '../helpers/test-app.js';
import { OPENAPI_PATH } from '../../src/wiring/openapi-file.js';

describe('openapi.yaml and the code agree', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it('the committed openapi.yaml is exactly what the route definitions generate (run `npm run openapi`)', async () => {
    expect(readFileSync(OPENAPI_PATH, 'utf8')).toBe(await generateOpenApiYaml());
  });

  it('documents every mounted route, and documents no route that is not mounted', () => {
    const doc = parse(readFileSync(OPENAPI_PATH, 'utf8')) as {
      paths: Record<string, Record<string, unknown>>;
    };
    const documented = Object.entries(doc.paths)
      .flatMap(([path, ops]) =>
        Object.keys(ops).map(
          (method) => `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`,
        ),
      )
      .sort();
    const mounted = [
      ...new Set(
        t.app.routes.filter((r) => r.method !== 'ALL').map((r) => `${r.method} ${r.path}`),
      ),
    ].sort();
    expect(mounted).toEqual(documented);
  });

  it('serves the committed file at /openapi.yaml and the docs page without any CDN', async () => {
    const yaml = await (await t.call('GET', '/openapi.yaml', { key: null })).text();
    expect(yaml).toBe(readFileSync(OPENAPI_PATH, 'utf8'));
    const html = await (await t.call('GET', '/docs', { key: null })).text();
    expect(html).toContain('"docs/swagger-ui-bundle.js"');
    expect(html).not.toMatch(/https?:\/\//);
    // Relative links only, so the page works under a proxy's path prefix.
    expect(html).not.toMatch(/(?:href|src)="\//);
    const bundle = await t.call('GET', '/docs/swagger-ui-bundle.js', { key: null });
    expect(bundle.status).toBe(200);
    expect((await bundle.text()).length).toBeGreaterThan(100_000);
  });
});
