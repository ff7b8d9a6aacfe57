import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ENV_NAMES } from '../src/config.js';
import { configurationMarkdown } from '../src/config.docs.js';

const PAGE = resolve(import.meta.dirname, '../docs/configuration.md');

describe('docs/configuration.md', () => {
  it('is what `npm run docs:config` generates from the config schema today', () => {
    expect(
      readFileSync(PAGE, 'utf8'),
      'docs/configuration.md is stale: run `npm run docs:config`',
    ).toBe(configurationMarkdown());
  });

  it('lists every variable the service reads, once, with its meaning', () => {
    const page = readFileSync(PAGE, 'utf8');
    const rows = [...page.matchAll(/^\| `([A-Z0-9_]+)` \|[^|]*\|[^|]*\| (.+) \|$/gm)];
    expect(rows.map((r) => r[1]).sort()).toEqual([...ENV_NAMES].sort());
    for (const row of rows) expect(row[2]!.length, row[1]).toBeGreaterThan(10);
  });
});
