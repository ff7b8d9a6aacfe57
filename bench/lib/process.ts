import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, fstatSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const ROOT = resolve(import.meta.dirname, '../..');

/** A server the bench started: its own process, its output going to a file (never through the load generator). */
export interface BenchProcess {
  url: string;
  pid: number;
  logPath: string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

export interface LaunchOptions {
  /** Node flags before the script (`--cpu-prof`, `--import tsx`, …). */
  nodeArgs?: readonly string[];
  /** Working directory (another checkout, for A/B runs); this one unless told. */
  cwd?: string;
  timeoutMs?: number;
}

/**
 * Starts `node <script>` (the built server, the ceiling; with `--import tsx` in `nodeArgs`, the
 * TypeScript one) with exactly `env` (plus PATH), its stdout and stderr appended to `logPath`, and
 * waits for its pino `listening` line (`{"port":…,"msg":"listening"}`).
 */
export async function launch(
  script: string,
  env: Record<string, string>,
  logPath: string,
  options: LaunchOptions = {},
): Promise<BenchProcess> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const fd = openSync(logPath, 'a');
  // A restart appends to the same log: only what this process writes counts.
  const from = fstatSync(fd).size;
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, [...(options.nodeArgs ?? []), script], {
      cwd: options.cwd ?? ROOT,
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', fd, fd],
    });
  } finally {
    closeSync(fd);
  }
  let exitCode: number | null | undefined;
  const exited = new Promise<void>((resolveExit) =>
    child.on('exit', (code, signal) => {
      exitCode = code ?? (signal ? -1 : null);
      resolveExit();
    }),
  );
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${script}`);
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const log = readFileSync(logPath).subarray(from).toString('utf8');
    const match = /"port":(\d+)[^\n]*"msg":"listening"/.exec(log);
    if (match) {
      return {
        url: `http://127.0.0.1:${match[1]}`,
        pid,
        logPath,
        async stop(graceMs = 15_000) {
          if (exitCode !== undefined) return;
          child.kill('SIGTERM');
          const killed = sleep(graceMs).then(() => {
            if (exitCode === undefined) child.kill('SIGKILL');
          });
          await Promise.race([exited, killed]);
          await exited;
        },
      };
    }
    if (exitCode !== undefined)
      throw new Error(`${script} exited with ${exitCode} before listening:\n${log.slice(-3000)}`);
    if (performance.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${script} did not listen within ${timeoutMs} ms:\n${log.slice(-3000)}`);
    }
    await sleep(100);
  }
}

/**
 * Resets the process's peak resident set size to its current size (Linux ≥ 4.0: writing 5 to
 * /proc/<pid>/clear_refs), so the next peakRssMb is the peak of what ran in between.
 * False where that is not possible: the peak is then the process's lifetime peak.
 */
export function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** Peak resident set size of a process (VmHWM), in MB; null off Linux. */
export function peakRssMb(pid: number): number | null {
  try {
    const kb = Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
    return Number.isFinite(kb) ? Math.round((kb / 1024) * 10) / 10 : null;
  } catch {
    return null;
  }
}

// USER_HZ: the unit of /proc/<pid>/stat times; 100 on every Linux architecture Node runs on.
const TICKS_PER_SECOND = 100;

/** CPU time (user + system) the process has used so far, in ms; null off Linux. */
export function cpuTimeMs(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after "pid (comm) ": state is field 3, utime 14 and stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
  } catch {
    return null;
  }
}

/**
 * Compiles the server as `npm run build` does (tsc -p tsconfig.build.json → dist/, then the
 * dashboard's pages copied beside it: the server reads them when it starts), so the bench
 * measures what production runs (`node dist/main.js`): under tsx the server carries the loader's
 * thread and about 50 MB more resident memory.
 */
export function buildServer(): string {
  const result = spawnSync(
    process.execPath,
    [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'],
    { cwd: ROOT, encoding: 'utf8' },
  );
  if (result.status !== 0)
    throw new Error(
      `the server does not build (tsc -p tsconfig.build.json):\n${result.stdout}${result.stderr}`,
    );
  const assets = spawnSync(process.execPath, [join(ROOT, 'scripts/copy-assets.js')], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  if (assets.status !== 0)
    throw new Error(
      `the server's assets were not copied (scripts/copy-assets.js):\n${assets.stdout}${assets.stderr}`,
    );
  return join(ROOT, 'dist/main.js');
}

/** Resident memory by kind, from /proc/<pid>/status, in MB: anon (heap, stacks) and file (mapped files, e.g. SQLite's mmap). */
function residentMb(pid: number): { anon: number; file: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string): number =>
      Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN);
    const anon = kb('RssAnon');
    const file = kb('RssFile');
    return Number.isFinite(anon) && Number.isFinite(file)
      ? { anon: anon / 1024, file: file / 1024 }
      : null;
  } catch {
    return null;
  }
}

/**
 * Samples a process's anonymous and file-backed resident memory every `intervalMs` until stopped.
 * The kernel keeps a peak only of their sum (VmHWM), and with SQLite's mmap the database pages a
 * request touched count there too: the anonymous peak is the process's own memory.
 */
export function sampleMemory(
  pid: number,
  intervalMs = 200,
): { stop(): { peakAnonMb: number | null; peakFileMb: number | null } } {
  let peakAnon: number | null = null;
  let peakFile: number | null = null;
  const sample = (): void => {
    const now = residentMb(pid);
    if (!now) return;
    peakAnon = Math.max(peakAnon ?? 0, now.anon);
    peakFile = Math.max(peakFile ?? 0, now.file);
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      sample();
      const round = (v: number | null): number | null =>
        v === null ? null : Math.round(v * 10) / 10;
      return { peakAnonMb: round(peakAnon), peakFileMb: round(peakFile) };
    },
  };
}
