import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  /** Sends a signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

const ROOT = resolve(import.meta.dirname, '../..');

/** Variables that pick the storage. CI exports them for the whole run; a child gets them only when its test passes them. */
const STORAGE_VARIABLES = [
  'DATABASE_URL',
  'DATABASE_POOL_SIZE',
  'REDIS_URL',
  'TEST_STORAGE',
  'SQLITE_PATH',
];

/** This process's environment minus the storage selection, for children (the CLI) that need the rest of it. */
export function inheritedEnv(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(process.env).filter(
      (entry): entry is [string, string] =>
        entry[1] !== undefined && !STORAGE_VARIABLES.includes(entry[0]),
    ),
  );
}

export interface StartServerOptions {
  /**
   * Runs the compiled server, `node dist/main.js`, in this directory (one holding dist/,
   * node_modules/, package.json, openapi.yaml and migrations/ as the Docker image does: see
   * buildDockerImage) instead of `src/main.ts` under tsx in the repository.
   */
  compiledIn?: string;
  timeoutMs?: number;
}

/**
 * Starts the real server (`src/main.ts` under tsx, or the compiled build with `compiledIn`) on a
 * free loopback port and waits until it listens. It inherits only PATH: storage (DATABASE_URL,
 * REDIS_URL) is what `env` says, never what CI exported.
 */
export async function startServer(
  env: Record<string, string>,
  options: StartServerOptions = {},
): Promise<ServerProcess> {
  const { compiledIn, timeoutMs = 45_000 } = options;
  const child = spawn(
    process.execPath,
    compiledIn === undefined ? ['--import', 'tsx', 'src/main.ts'] : ['dist/main.js'],
    {
      cwd: compiledIn ?? ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        HOST: '127.0.0.1',
        PORT: '0',
        NODE_ENV: 'development',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolveExit) =>
    child.on('exit', (code) => resolveExit(code)),
  );

  const port = await new Promise<number>((resolvePort, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`server did not start within ${timeoutMs} ms:\n${output}`)),
      timeoutMs,
    );
    const onData = (): void => {
      const match = /"port":(\d+)[^\n]*"msg":"listening"/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolvePort(Number(match[1]));
      }
    };
    child.stdout.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${output}`));
    });
  });

  return {
    url: `http://127.0.0.1:${port}`,
    child,
    output: () => output,
    stop: (signal = 'SIGTERM') => {
      if (child.exitCode !== null) return Promise.resolve(child.exitCode);
      child.kill(signal);
      return exited;
    },
  };
}
