/**
 * Exploitable without this: a crash (OOM kill, power loss of a container, deploy gone wrong) turns
 * an approved verification back into a pending one (its code works twice), resets an attempt counter
 * (a brute-forcer kills the server to get five fresh guesses), loses a failure record (an attack
 * leaves no trace) or a timed fallback (the person never gets the call), or places a call twice.
 *
 * The real server runs under concurrent starts and checks and is SIGKILLed at random moments,
 * restarted each time on the same database. `npm test` runs 3 kills; `npm run test:chaos` runs
 * CHAOS_KILLS (default 20). CHAOS_SEED replays a schedule.
 */
import { describe, expect, it } from 'vitest';
import { printChaos, runChaos, type ChaosOptions } from './chaos.js';

const kills = Number(process.env.CHAOS_KILLS ?? 3);
const options: ChaosOptions = {
  kills,
  concurrency: 12,
  runMs: [400, 1500],
  seed: Number(process.env.CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31)),
};

describe('crash safety under load (real server, SIGKILL, restart on the same database)', () => {
  it(
    `survives ${kills} kills with nothing acknowledged lost and nothing gone backwards`,
    { timeout: 60_000 + kills * 25_000 },
    async () => {
      const report = await runChaos(options);
      printChaos(report, options);
      expect(report.kills).toHaveLength(kills);
      expect(report.kills.every((k) => k.integrity === 'ok')).toBe(true);
      expect(report.acknowledged.starts).toBeGreaterThan(kills);
      expect(report.acknowledged.approvals).toBeGreaterThan(0);
      expect(report.violations).toEqual([]);
      expect(report.recordsLost).toBe(0);
    },
  );
});
