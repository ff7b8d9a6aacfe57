// Exploitable without persisted counters: an attacker who can make the service restart (or just
// waits for a deploy) gets a fresh budget of starts and guesses.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createFakeClock } from '../helpers/fake-clock.js';
import { createTestApp, expectProblem } from '../helpers/test-app.js';
import { start } from './limits-helpers.js';

describe('restart persistence (SQLite counters)', () => {
  it('a number limited before a restart is still limited after it, until its window ends', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'otp-restart-'));
    const path = join(dir, 'verify.db');
    const clock = createFakeClock();
    try {
      const before = await createTestApp({ sqlitePath: path, clock });
      const key = await before.createKey('acme', ['verify']);
      for (let i = 0; i < 5; i++)
        expect(
          (await start(before, key, '+33612345678', { ip: `203.0.113.${i + 1}` })).status,
        ).toBe(201);
      await expectProblem(
        await start(before, key, '+33612345678', { ip: '203.0.113.50' }),
        429,
        'rate_limited',
      );
      before.close();

      clock.advance(60_000);
      const after = await createTestApp({ sqlitePath: path, clock });
      try {
        const refused = await start(after, key, '+33612345678', { ip: '203.0.113.51' });
        expect((await expectProblem(refused, 429, 'rate_limited')).limit).toBe('number:10m');
        expect(refused.headers.get('retry-after')).toBe('540');
        clock.advance(540_000);
        expect((await start(after, key, '+33612345678', { ip: '203.0.113.52' })).status).toBe(201);
      } finally {
        after.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
