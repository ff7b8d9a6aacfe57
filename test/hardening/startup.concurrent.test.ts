/**
 * Harmful without this: instances started together on one data directory (a compose file scaled
 * to 3, a rolling deploy on a shared volume) raced each other. drizzle reads the applied
 * migrations before its BEGIN, so a second instance re-ran CREATE TABLE and died; a generated
 * development secret was read while another instance was still writing it (empty: "the reports
 * encryption secret must be at least 32 bytes"), or its exclusive create failed with EEXIST.
 * Every instance must start, on the same schema and the same secrets.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const INSTANCES = 5;

function boot(dir: string, at: number): Promise<{ code: number | null; output: string }> {
  return new Promise((done) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'test/hardening/fixtures/boot.ts', dir, String(at)],
      { cwd: ROOT, env: { PATH: process.env.PATH ?? '' } },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('exit', (code) => done({ code, output }));
  });
}

describe('instances starting together on one data directory', { timeout: 90_000 }, () => {
  it(`${INSTANCES} processes at the same instant, 2 rounds: all start, one schema, one set of secrets`, async () => {
    for (let round = 0; round < 2; round++) {
      const dir = mkdtempSync(join(tmpdir(), 'otp-boot-'));
      // Far enough ahead for every process to have loaded TypeScript on a busy machine.
      const at = Date.now() + 6000;
      const results = await Promise.all(Array.from({ length: INSTANCES }, () => boot(dir, at)));
      for (const result of results) expect(result.code, result.output).toBe(0);
      const printed = results.map(
        (r) =>
          JSON.parse(r.output.trim().split('\n').at(-1)!) as { tables: number; digest: string },
      );
      expect(new Set(printed.map((p) => p.digest)).size).toBe(1);
      expect(new Set(printed.map((p) => p.tables)).size).toBe(1);
      expect(printed[0]!.tables).toBeGreaterThan(5);
    }
  });
});
