import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse, stringify } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  describeResult,
  LINTERS,
  redocly,
  spectral,
  swaggerParser,
  verdict,
  WARNING_BUDGET,
  type LintResult,
} from '../helpers/openapi-lint.js';
import { OPENAPI_PATH } from '../../src/wiring/openapi-file.js';

/**
 * Integrators lint a published API before they generate a client from it; a document their linter
 * rejects is a contract they cannot use. These run @redocly/cli (recommended), swagger-parser and
 * Spectral (spectral:oas) from the dev dependencies, offline.
 */

const OUT = resolve(import.meta.dirname, '../../test-output/openapi-lint');

type Doc = {
  info: { license: Record<string, string> };
  paths: Record<string, Record<string, Record<string, unknown>>>;
  components: { schemas: Record<string, { properties: Record<string, Record<string, unknown>> }> };
};

function variant(name: string, change: (doc: Doc) => void): string {
  const doc = parse(readFileSync(OPENAPI_PATH, 'utf8')) as Doc;
  change(doc);
  mkdirSync(OUT, { recursive: true });
  const file = join(OUT, `${name}.yaml`);
  writeFileSync(file, stringify(doc, { lineWidth: 0 }));
  return file;
}

function operations(doc: Doc): Record<string, unknown>[] {
  return Object.values(doc.paths).flatMap((ops) => Object.values(ops));
}

describe('openapi.yaml passes the linters integrators use', () => {
  it.each(Object.keys(LINTERS) as LintResult['linter'][])(
    `%s: no error, at most ${WARNING_BUDGET} warnings`,
    async (name) => {
      const result = await LINTERS[name](OPENAPI_PATH);
      console.log(describeResult(result));
      expect(verdict(result), describeResult(result)).toEqual([]);
    },
  );
});

describe('the lint check fails when it should', () => {
  let broken: string;
  let unexplained: string;
  beforeAll(() => {
    broken = variant('broken', (doc) => {
      // What this branch fixed, put back: a license without identifier, a u-flag pattern, and one more: a duplicated operationId.
      doc.info.license = { name: 'Apache-2.0' };
      const user = doc.components.schemas.EnrollFactor?.properties.user;
      if (user) user.pattern = '^[^\\p{C}]+$/u';
      const [first, second] = operations(doc);
      if (first && second) second.operationId = first.operationId;
    });
    unexplained = variant('unexplained', (doc) => {
      for (const op of operations(doc)) {
        delete op.operationId;
        delete op.description;
      }
    });
  });

  it('every linter reports an error in a broken document', async () => {
    const results = await Promise.all([redocly(broken), swaggerParser(broken), spectral(broken)]);
    for (const result of results) {
      expect(result.errors.length, describeResult(result)).toBeGreaterThan(0);
      expect(verdict(result).length).toBeGreaterThan(0);
    }
    const [r, p, s] = results;
    expect(r?.errors.map((e) => e.rule)).toContain('operation-operationId-unique');
    expect(p?.errors.map((e) => e.message).join('\n')).toMatch(/license/);
    expect(s?.errors.map((e) => e.rule)).toContain('oas3-valid-schema-example');
  });

  it('a document without operationIds and descriptions passes no error but fails on its warnings', async () => {
    for (const result of await Promise.all([redocly(unexplained), spectral(unexplained)])) {
      expect(result.errors, describeResult(result)).toEqual([]);
      expect(result.warnings.length).toBeGreaterThan(WARNING_BUDGET);
      expect(verdict(result)).toEqual([expect.stringMatching(/more than the budget of 10/)]);
    }
  });
});
