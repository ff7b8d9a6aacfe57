import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ADMIN_KEY, PEPPER } from '../helpers/test-app.js';

const ROOT = resolve(import.meta.dirname, '../..');

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  /** Everything the process printed so far. */
  logs(): string;
  /** SIGKILL: a crash, nothing flushed or closed. */
  crash(): Promise<void>;
  stop(): Promise<void>;
}

/** The real server (src/main.ts) in its own process on 127.0.0.1, port 0, on the given data directory. */
export async function startServerProcess(
  dir: string,
  env: Record<string, string>,
): Promise<ServerProcess> {
  // node itself with tsx as a loader, not the tsx binary: that one forks the server as a child of
  // its own, so a SIGKILL killed only the wrapper and left the real server running (no crash at all).
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'development',
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'info',
      DATA_DIR: dir,
      SQLITE_PATH: join(dir, 'verify.db'),
      OUTBOX_PATH: join(dir, 'outbox.jsonl'),
      LOG_PROVIDER_STDOUT: 'false',
      OTP_PEPPER: PEPPER,
      ADMIN_API_KEY: ADMIN_KEY,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  let printed = '';
  child.stdout.on('data', (chunk: Buffer) => (printed += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (printed += chunk.toString()));
  const url = await new Promise<string>((done, fail) => {
    let out = '';
    let err = '';
    // Generous: a loaded CI machine takes a while to load TypeScript; a server that never listens is killed, not left behind.
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      fail(new Error(`server did not start: ${out}${err}`));
    }, 45_000);
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /"port":(\d+).*"msg":"listening"/.exec(out);
      if (match) {
        clearTimeout(timer);
        done(`http://127.0.0.1:${match[1]}`);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`server exited with ${code}: ${out}${err}`));
    });
  });
  return {
    url,
    child,
    logs: () => printed,
    async crash() {
      child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

export function outboxLines(
  dir: string,
): { channel: string; verificationId: string; from?: string; to: string }[] {
  const path = join(dir, 'outbox.jsonl');
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map(
      (line) =>
        JSON.parse(line) as { channel: string; verificationId: string; from?: string; to: string },
    );
}

export async function api(
  base: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<Response> {
  return fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

export async function waitFor(predicate: () => boolean, timeoutMs: number): Promise<number> {
  const started = performance.now();
  while (!predicate()) {
    if (performance.now() - started > timeoutMs)
      throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return performance.now() - started;
}
