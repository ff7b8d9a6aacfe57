import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { REASONS } from '../src/platform/errors.js';

/**
 * docs/api.md is where an integrator looks up a route or a problem reason. Its route table must
 * name every operation of the published contract, and its reasons table every reason of the closed
 * set, so a route or a reason added in src/ without its line in the docs fails here.
 */

const ROOT = resolve(import.meta.dirname, '..');
const API_DOC = readFileSync(resolve(ROOT, 'docs/api.md'), 'utf8');
const TABLE_ROWS = API_DOC.split('\n').filter((line) => line.startsWith('|'));
const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

describe('docs/api.md', () => {
  it('lists every operation of openapi.yaml in its route table', () => {
    const document = parse(readFileSync(resolve(ROOT, 'openapi.yaml'), 'utf8')) as {
      paths: Record<string, Partial<Record<(typeof METHODS)[number], unknown>>>;
    };
    const operations = Object.entries(document.paths).flatMap(([path, item]) =>
      METHODS.filter((m) => item[m] !== undefined).map((m) => ({ method: m.toUpperCase(), path })),
    );
    expect(operations.length).toBeGreaterThan(40);
    const missing = operations.filter(
      ({ method, path }) =>
        !TABLE_ROWS.some(
          (row) => row.includes(`${path}\``) && new RegExp(`\`${method}[\` ]`).test(row),
        ),
    );
    expect(missing.map(({ method, path }) => `${method} ${path}`)).toEqual([]);
  });

  it('gives every problem reason a row in its reasons table', () => {
    const missing = REASONS.filter(
      (reason) => !TABLE_ROWS.some((row) => row.startsWith(`| \`${reason}\` |`)),
    );
    expect(missing).toEqual([]);
  });
});
