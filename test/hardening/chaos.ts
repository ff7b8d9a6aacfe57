import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { RANGES } from '../delivery/helpers.js';
import { startServerProcess, type ServerProcess } from '../delivery/process.js';
import { ADMIN_KEY, RELAXED_LIMITS } from '../helpers/test-app.js';

export interface ChaosOptions {
  kills: number;
  /** Concurrent clients. */
  concurrency: number;
  /** Load runs this long (uniformly random within the range) before each kill. */
  runMs: [number, number];
  /** Seeded so a failing run can be replayed with CHAOS_SEED. */
  seed: number;
}

export interface KillReport {
  kill: number;
  afterMs: number;
  inFlight: number;
  integrity: string;
}

export interface ChaosReport {
  kills: KillReport[];
  requests: { sent: number; answered: number; cutByKill: number };
  acknowledged: { starts: number; approvals: number; wrongCodes: number };
  /** Every invariant violation found, as a sentence; must be empty. */
  violations: string[];
  fallbacks: {
    done: number;
    void: number;
    scheduledPastDue: number;
    claimedByKilledInstance: number;
    placedTwice: number;
    placed: number;
  };
  recordsLost: number;
}

const ENV = {
  ...RELAXED_LIMITS,
  FLASHCALL_RANGES: RANGES,
  FALLBACK_AFTER_SECONDS: '1',
  FALLBACK_POLL_MS: '50',
};

/** mulberry32: a tiny seeded PRNG, so the schedule of kills and actions is reproducible. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Row {
  status: string;
  attempts: number;
}

/** The outbox as lines; a line torn by a kill is skipped (the code it carried was never shown). */
function outbox(dir: string): { channel: string; verificationId: string; body?: string }[] {
  const path = join(dir, 'outbox.jsonl');
  if (!existsSync(path)) return [];
  const lines: { channel: string; verificationId: string; body?: string }[] = [];
  for (const text of readFileSync(path, 'utf8').split('\n')) {
    try {
      if (text)
        lines.push(JSON.parse(text) as { channel: string; verificationId: string; body?: string });
    } catch {
      /* torn last line */
    }
  }
  return lines;
}

/**
 * Runs the real server under concurrent starts and checks, SIGKILLs it at random moments, restarts
 * it on the same database each time, and checks after every kill (server down, database as the
 * crash left it) and at the end that nothing acknowledged was lost and nothing went backwards.
 */
export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const random = prng(options.seed);
  const dir = mkdtempSync(join(tmpdir(), 'otp-chaos-'));
  const dbPath = join(dir, 'verify.db');
  const violations: string[] = [];
  const kills: KillReport[] = [];
  const requests = { sent: 0, answered: 0, cutByKill: 0 };
  const ack = {
    starts: new Set<string>(),
    approved: new Set<string>(),
    minAttempts: new Map<string, number>(),
    wrongCodes: new Map<string, number>(),
  };
  let wrongCodes = 0;
  const snapshot = new Map<string, Row>();
  let inFlight = 0;
  let server: ServerProcess | undefined;
  let stopping = false;
  let numberSeq = 0;

  const codes = (): Map<string, string> => {
    const map = new Map<string, string>();
    for (const line of outbox(dir)) {
      const code = line.channel === 'sms' ? /\b(\d{6})\b/.exec(line.body ?? '')?.[1] : undefined;
      if (code) map.set(line.verificationId, code);
    }
    return map;
  };
  let codeCache = new Map<string, string>();

  async function call(method: string, path: string, body?: unknown): Promise<Response | undefined> {
    const base = server?.url;
    if (!base) return undefined;
    inFlight++;
    requests.sent++;
    try {
      const response = await fetch(`${base}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${ADMIN_KEY}`,
          'content-type': 'application/json',
          connection: 'close',
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      requests.answered++;
      if (response.status >= 500)
        violations.push(`${method} ${path} answered ${response.status}: ${text.slice(0, 200)}`);
      return new Response(text, { status: response.status, headers: response.headers });
    } catch {
      requests.cutByKill++;
      return undefined;
    } finally {
      inFlight--;
    }
  }

  async function client(): Promise<void> {
    while (!stopping) {
      if (!server) {
        await new Promise((r) => setTimeout(r, 20));
        continue;
      }
      const ids = [...ack.starts];
      const roll = random();
      if (roll < 0.35 || ids.length === 0) {
        const n = numberSeq++;
        const to = `+336${String(10_000_000 + ((n * 7919) % 89_999_999)).padStart(8, '0')}`;
        const response = await call('POST', '/v1/verifications', { to, channel: 'auto' });
        if (response?.status === 201)
          ack.starts.add(((await response.json()) as { id: string }).id);
      } else {
        const id = ids[Math.floor(random() * ids.length)]!;
        const right = roll < 0.7;
        if (right && !codeCache.has(id)) codeCache = codes();
        const code = right ? (codeCache.get(id) ?? '000000') : '000000';
        const response = await call('POST', `/v1/verifications/${id}/check`, { code });
        if (response?.status === 200) ack.approved.add(id);
        if (response?.status === 422) {
          const body = (await response.json()) as { attemptsRemaining: number };
          wrongCodes++;
          ack.wrongCodes.set(id, (ack.wrongCodes.get(id) ?? 0) + 1);
          ack.minAttempts.set(
            id,
            Math.max(ack.minAttempts.get(id) ?? 0, 5 - body.attemptsRemaining),
          );
        }
      }
    }
  }

  /** With the server down: integrity, then every invariant against the database as the crash left it. */
  function inspect(label: string): string {
    const db = new Database(dbPath);
    try {
      const integrity = (db.pragma('integrity_check', { simple: true }) as string) ?? 'no answer';
      if (integrity !== 'ok') violations.push(`${label}: integrity_check says ${integrity}`);
      const rows = db.prepare('SELECT id, status, attempts FROM verifications').all() as ({
        id: string;
      } & Row)[];
      const byId = new Map(rows.map((r) => [r.id, r]));
      for (const id of ack.starts)
        if (!byId.has(id)) violations.push(`${label}: acknowledged start ${id} is missing`);
      for (const id of ack.approved)
        if (byId.get(id)?.status !== 'approved')
          violations.push(`${label}: acknowledged approval ${id} is ${byId.get(id)?.status}`);
      for (const [id, min] of ack.minAttempts) {
        const attempts = byId.get(id)?.attempts ?? -1;
        if (attempts < min)
          violations.push(`${label}: ${id} has ${attempts} attempts, ${min} were acknowledged`);
      }
      for (const row of rows) {
        const before = snapshot.get(row.id);
        if (before?.status === 'approved' && row.status !== 'approved')
          violations.push(`${label}: ${row.id} went from approved to ${row.status}`);
        if (before && row.attempts < before.attempts)
          violations.push(
            `${label}: ${row.id} attempts went down ${before.attempts} → ${row.attempts}`,
          );
        snapshot.set(row.id, { status: row.status, attempts: row.attempts });
      }
      const failures = db
        .prepare(
          "SELECT verification_id AS id, count(*) AS n FROM events WHERE reason = 'incorrect_code' GROUP BY verification_id",
        )
        .all() as { id: string; n: number }[];
      const recorded = new Map(failures.map((f) => [f.id, f.n]));
      for (const [id, n] of ack.wrongCodes)
        if ((recorded.get(id) ?? 0) < n)
          violations.push(
            `${label}: ${id} answered incorrect_code ${n} times, ${recorded.get(id) ?? 0} failure records`,
          );
      return integrity;
    } finally {
      db.close();
    }
  }

  server = await startServerProcess(dir, ENV);
  const started = performance.now();
  const clients = Array.from({ length: options.concurrency }, () => client());
  try {
    for (let kill = 1; kill <= options.kills; kill++) {
      // Load must be flowing (a fresh process answers its first requests slowly) before the random wait.
      const answeredBefore = requests.answered;
      const warm = performance.now();
      while (
        requests.answered < answeredBefore + options.concurrency &&
        performance.now() - warm < 30_000
      )
        await new Promise((r) => setTimeout(r, 20));
      const [min, max] = options.runMs;
      await new Promise((r) => setTimeout(r, min + random() * (max - min)));
      const running = server;
      server = undefined;
      const atKill = inFlight;
      await running.crash();
      const integrity = inspect(`after kill ${kill}`);
      kills.push({
        kill,
        afterMs: Math.round(performance.now() - started),
        inFlight: atKill,
        integrity,
      });
      server = await startServerProcess(dir, ENV);
    }
    // A last stretch of load, then let every due fallback be placed before the final checks.
    await new Promise((r) => setTimeout(r, options.runMs[0]));
    stopping = true;
    await Promise.all(clients);
    await new Promise((r) => setTimeout(r, 2500));
    const last = server;
    server = undefined;
    await last.stop();
    inspect('at the end');
  } finally {
    stopping = true;
    await server?.crash();
  }

  const db = new Database(dbPath, { readonly: true });
  const states = db
    .prepare('SELECT state, due_at AS dueAt, claimed_by AS claimedBy FROM fallbacks')
    .all() as { state: string; dueAt: number; claimedBy: string | null }[];
  db.close();
  const now = Date.now();
  const calls = outbox(dir).filter((l) => l.channel === 'flashcall');
  const perVerification = new Map<string, number>();
  for (const c of calls)
    perVerification.set(c.verificationId, (perVerification.get(c.verificationId) ?? 0) + 1);
  const placedTwice = [...perVerification.values()].filter((n) => n > 1).length;
  const scheduledPastDue = states.filter(
    (s) => s.state === 'scheduled' && s.dueAt < now - 1000,
  ).length;
  if (placedTwice > 0) violations.push(`${placedTwice} fallback calls placed more than once`);
  if (scheduledPastDue > 0)
    violations.push(
      `${scheduledPastDue} timed fallbacks still scheduled long after they were due (lost)`,
    );
  const fallbacks = {
    done: states.filter((s) => s.state === 'done').length,
    void: states.filter((s) => s.state === 'void').length,
    scheduledPastDue,
    claimedByKilledInstance: states.filter((s) => s.state === 'claimed').length,
    placedTwice,
    placed: calls.length,
  };
  const recordsLost = violations.filter((v) =>
    /missing|acknowledged|failure records|lost/.test(v),
  ).length;
  return {
    kills,
    requests,
    acknowledged: { starts: ack.starts.size, approvals: ack.approved.size, wrongCodes },
    violations,
    fallbacks,
    recordsLost,
  };
}

export function printChaos(report: ChaosReport, options: ChaosOptions): void {
  const lines = [
    `[chaos] seed ${options.seed}, ${options.concurrency} clients, ${report.kills.length} SIGKILLs`,
    ...report.kills.map(
      (k) =>
        `  kill ${k.kill} at ${k.afterMs} ms: ${k.inFlight} requests in flight, integrity_check ${k.integrity}`,
    ),
    `  requests: ${report.requests.sent} sent, ${report.requests.answered} answered, ${report.requests.cutByKill} cut by a kill`,
    `  acknowledged: ${report.acknowledged.starts} starts, ${report.acknowledged.approvals} approvals, ${report.acknowledged.wrongCodes} incorrect codes`,
    `  fallbacks: ${report.fallbacks.placed} calls placed, ${report.fallbacks.done} done, ${report.fallbacks.void} void, ${report.fallbacks.claimedByKilledInstance} claimed by a killed instance (retaken after the lease), ${report.fallbacks.scheduledPastDue} lost, ${report.fallbacks.placedTwice} placed twice`,
    `  records lost: ${report.recordsLost}; violations: ${report.violations.length}`,
    ...report.violations.slice(0, 20).map((v) => `  ! ${v}`),
  ];
  console.log(lines.join('\n'));
}
