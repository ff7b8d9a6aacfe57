/**
 * Threat to availability and cost: a timed fallback kept only in memory is lost when the process
 * crashes (the person never gets the call), and one that every instance acts on is placed several
 * times (several paid calls, a confused person). The due time lives in the database and one
 * guarded UPDATE hands each due fallback to exactly one instance.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import {
  api,
  outboxLines,
  startServerProcess,
  waitFor,
  type ServerProcess,
} from '../delivery/process.js';
import { RANGES } from '../delivery/helpers.js';
import { RELAXED_LIMITS } from '../helpers/test-app.js';

const ENV = {
  ...RELAXED_LIMITS,
  FLASHCALL_RANGES: RANGES,
  FALLBACK_AFTER_SECONDS: '2',
  FALLBACK_POLL_MS: '50',
};

describe(
  'timed fallbacks survive crashes and are placed once across instances (real server processes)',
  { timeout: 60_000 },
  () => {
    const running: ServerProcess[] = [];
    afterEach(async () => {
      await Promise.all(running.splice(0).map((p) => p.stop()));
    });

    it('places the call after a crash and restart, exactly once', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'otp-restart-'));
      const first = await startServerProcess(dir, ENV);
      running.push(first);
      const response = await api(first.url, 'POST', '/v1/verifications', {
        to: '+33612345678',
        channel: 'auto',
      });
      expect(response.status).toBe(201);
      const { id } = (await response.json()) as { id: string };
      await first.crash();
      running.splice(0);
      expect(outboxLines(dir).filter((l) => l.channel === 'flashcall')).toHaveLength(0);

      const second = await startServerProcess(dir, ENV);
      running.push(second);
      await waitFor(
        () => outboxLines(dir).some((l) => l.channel === 'flashcall' && l.verificationId === id),
        15_000,
      );
      await new Promise((r) => setTimeout(r, 500)); // several more ticks
      expect(outboxLines(dir).filter((l) => l.channel === 'flashcall')).toHaveLength(1);
      const view = (await (await api(second.url, 'GET', `/v1/verifications/${id}`)).json()) as {
        channel: string;
        fallback: { state: string; reason: string };
      };
      expect(view).toMatchObject({
        channel: 'flashcall',
        fallback: { state: 'done', reason: 'no_check' },
      });
    });

    it('two instances on one database file place each due call once', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'otp-two-'));
      const a = await startServerProcess(dir, ENV);
      running.push(a);
      const b = await startServerProcess(dir, ENV);
      running.push(b);
      const ids: string[] = [];
      for (let i = 0; i < 20; i++) {
        const response = await api(i % 2 === 0 ? a.url : b.url, 'POST', '/v1/verifications', {
          to: `+336123456${String(i).padStart(2, '0')}`,
          channel: 'auto',
        });
        expect(response.status).toBe(201);
        ids.push(((await response.json()) as { id: string }).id);
      }
      await waitFor(
        () => outboxLines(dir).filter((l) => l.channel === 'flashcall').length >= ids.length,
        15_000,
      ).catch((error: unknown) => {
        throw new Error(
          `${String(error)}\n--- a:\n${a.logs().slice(-3000)}\n--- b:\n${b.logs().slice(-3000)}`,
        );
      });
      await new Promise((r) => setTimeout(r, 500));
      const calls = outboxLines(dir).filter((l) => l.channel === 'flashcall');
      expect(calls).toHaveLength(ids.length);
      expect(new Set(calls.map((c) => c.verificationId))).toEqual(new Set(ids));

      await Promise.all(running.splice(0).map((p) => p.stop()));
      const db = new Database(join(dir, 'verify.db'), { readonly: true });
      const owners = db
        .prepare(
          "SELECT claimed_by AS owner, count(*) AS n FROM fallbacks WHERE state = 'done' GROUP BY claimed_by",
        )
        .all() as { owner: string; n: number }[];
      const lateness = db
        .prepare(
          "SELECT completed_at - due_at AS ms FROM fallbacks WHERE state = 'done' ORDER BY ms",
        )
        .all() as { ms: number }[];
      db.close();
      console.log(
        `[two instances] due → call placed (FALLBACK_POLL_MS=50): median ${lateness[lateness.length >> 1]!.ms} ms, max ${lateness.at(-1)!.ms} ms`,
      );
      expect(owners.reduce((sum, o) => sum + o.n, 0)).toBe(ids.length);
      console.log(
        `[two instances] calls placed per instance: ${owners.map((o) => o.n).join(' + ')} = ${ids.length}`,
      );
    });
  },
);
