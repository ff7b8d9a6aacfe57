/**
 * The Docker image's file layout without a Docker engine (none runs here or in CI). The Dockerfile
 * is read, not restated: its build stage's COPY lines assemble a build directory where
 * `npm run build` runs, its runtime stage's COPY lines assemble the image directory from that and
 * from the repository. A file the build needs but the build stage does not copy fails the build; a
 * file the server reads at run time but the runtime stage does not copy fails the server started
 * there. `npm ci` is the repository's node_modules (a symlink); `npm prune --omit=dev` leaves a
 * node_modules holding only the production dependencies (a symlink each, as `npm ls --omit=dev`
 * lists them), so compiled code that imports a devDependency fails as it would in the image.
 * What is not reproduced: the base image and its Node version, `apt-get`, `USER`, `HEALTHCHECK`.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, posix, relative, resolve } from 'node:path';
import { promisify } from 'node:util';

const ROOT = resolve(import.meta.dirname, '../..');
const run = promisify(execFile);

export interface DockerCopy {
  /** The stage named by `--from=`, or undefined for the build context (the repository). */
  from: string | undefined;
  sources: string[];
  destination: string;
}

/** A stage's COPY and RUN lines, in their order. */
export type DockerStep = { copy: DockerCopy } | { run: string };

export interface DockerStage {
  name: string | undefined;
  workdir: string;
  steps: DockerStep[];
  copies: DockerCopy[];
  env: Record<string, string>;
  cmd: string[] | undefined;
}

/** The Dockerfile's stages, instruction by instruction (continuations joined, comments dropped). */
export function parseDockerfile(text: string): DockerStage[] {
  const stages: DockerStage[] = [];
  const instructions = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  for (const line of instructions) {
    const [keyword = '', ...rest] = line.split(/\s+/);
    const args = rest.join(' ');
    const stage = stages.at(-1);
    switch (keyword.toUpperCase()) {
      case 'FROM':
        stages.push({
          name: /\sAS\s+(\S+)/i.exec(` ${args}`)?.[1],
          workdir: '/',
          steps: [],
          copies: [],
          env: {},
          cmd: undefined,
        });
        break;
      case 'WORKDIR':
        if (stage) stage.workdir = posix.resolve(stage.workdir, args);
        break;
      case 'COPY': {
        if (args.startsWith('['))
          throw new Error(`COPY in JSON form is not read by this helper: ${line}`);
        const words = rest.filter((word) => !word.startsWith('--') || word.startsWith('--from='));
        const from = words.find((word) => word.startsWith('--from='))?.slice('--from='.length);
        const paths = words.filter((word) => !word.startsWith('--'));
        const destination = paths.pop();
        if (!stage || !destination || paths.length === 0)
          throw new Error(`unreadable COPY: ${line}`);
        const copy = { from, sources: paths, destination };
        stage.copies.push(copy);
        stage.steps.push({ copy });
        break;
      }
      case 'RUN':
        stage?.steps.push({ run: args });
        break;
      case 'ENV':
        for (const pair of args.split(/\s+/)) {
          const [name, ...value] = pair.split('=');
          if (stage && name && value.length > 0)
            stage.env[name] = value.join('=').replace(/^"(.*)"$/, '$1');
        }
        break;
      case 'CMD':
        if (stage)
          stage.cmd = args.startsWith('[')
            ? (JSON.parse(args) as string[])
            : ['/bin/sh', '-c', args];
        break;
      default:
        break;
    }
  }
  return stages;
}

export interface DockerImage {
  /** The image's WORKDIR on this machine: dist/, node_modules/, package.json, … as the runtime stage copies them. */
  dir: string;
  /** The runtime stage's ENV (NODE_ENV=production, HOST, PORT, DATA_DIR). */
  env: Record<string, string>;
  /** The runtime stage's CMD, e.g. ["node", "dist/main.js"]. */
  cmd: string[];
  /** The runtime stage's COPY lines, as written. */
  copies: DockerCopy[];
}

function dockerfile(): DockerStage[] {
  return parseDockerfile(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
}

/** Every file under `path` (node_modules left out), for the cache key. */
function filesUnder(path: string): string[] {
  if (!existsSync(path)) return [];
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path, { recursive: true, withFileTypes: true })
    .map((entry) => (entry.isFile() ? join(entry.parentPath, entry.name) : ''))
    .filter((file) => file !== '' && !file.includes('/node_modules/'))
    .sort();
}

/** A digest of the Dockerfile and every repository file its COPY lines take: the build is redone when one changes. */
function inputsDigest(stages: DockerStage[]): string {
  const hash = createHash('sha256').update(readFileSync(join(ROOT, 'Dockerfile')));
  for (const copy of stages.flatMap((stage) => stage.copies).filter((c) => c.from === undefined)) {
    for (const source of copy.sources) {
      for (const file of filesUnder(join(ROOT, source)))
        hash.update(relative(ROOT, file)).update('\0').update(readFileSync(file)).update('\0');
    }
  }
  return hash.digest('hex').slice(0, 16);
}

/** Copies a COPY line's sources into `dir` (the stage's WORKDIR here); node_modules becomes a symlink to where it is. */
function applyCopy(
  copy: DockerCopy,
  stage: DockerStage,
  dir: string,
  resolveSource: (copy: DockerCopy, source: string) => string,
): void {
  const destination = join(
    dir,
    posix.relative(stage.workdir, posix.resolve(stage.workdir, copy.destination)),
  );
  const intoDirectory = copy.destination.endsWith('/') || copy.sources.length > 1;
  for (const source of copy.sources) {
    const from = resolveSource(copy, source);
    if (!existsSync(from))
      throw new Error(`the Dockerfile copies ${source}, which does not exist (${from})`);
    const to =
      intoDirectory && !statSync(from).isDirectory()
        ? join(destination, basename(source))
        : destination;
    mkdirSync(join(to, '..'), { recursive: true });
    // npm ci's node_modules is a symlink to the repository's; a pruned one is a directory of symlinks into it.
    if (basename(source) === 'node_modules' && lstatSync(from).isSymbolicLink())
      symlinkSync(realpathSync(from), to);
    else cpSync(from, to, { recursive: true, verbatimSymlinks: true });
  }
}

async function npm(args: string[], dir: string, what: string): Promise<string> {
  try {
    const { stdout } = await run('npm', args, {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? dir },
      maxBuffer: 16 * 1024 * 1024,
    });
    return stdout;
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    throw new Error(`${what}:\n${stdout}${stderr}`);
  }
}

/**
 * `npm prune --omit=dev` without touching the repository's node_modules: a directory of symlinks
 * to the top-level production packages (nested ones come inside their parent).
 */
async function pruneDevDependencies(dir: string): Promise<void> {
  const listed = await npm(
    ['ls', '--omit=dev', '--all', '--parseable'],
    ROOT,
    'npm ls --omit=dev fails in the repository',
  );
  const modules = join(ROOT, 'node_modules');
  const topLevel = listed
    .split('\n')
    .map((path) => relative(modules, path.trim()))
    .filter((path) => path !== '' && !path.startsWith('..') && !path.includes('node_modules'));
  const pruned = join(dir, 'node_modules');
  rmSync(pruned, { force: true });
  for (const name of new Set(topLevel)) {
    mkdirSync(join(pruned, name, '..'), { recursive: true });
    symlinkSync(join(modules, name), join(pruned, name));
  }
}

/** The RUN lines that matter here, in the order a command runs them; the rest (apt-get, mkdir, chown) are skipped. */
async function runStep(command: string, dir: string): Promise<void> {
  if (/\bnpm ci\b/.test(command))
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  if (/\bnpm run build\b/.test(command))
    await npm(
      ['run', 'build'],
      dir,
      "npm run build fails on the files the Dockerfile's build stage copies",
    );
  if (/\bnpm prune --omit=dev\b/.test(command)) await pruneDevDependencies(dir);
}

async function assemble(stages: DockerStage[], target: string): Promise<void> {
  const runtime = stages.at(-1)!;
  const built = new Map<string, { stage: DockerStage; dir: string }>();
  for (const [index, stage] of stages.slice(0, -1).entries()) {
    const dir = join(target, `stage-${stage.name ?? index}`);
    mkdirSync(dir, { recursive: true });
    for (const step of stage.steps) {
      if ('run' in step) await runStep(step.run, dir);
      else
        applyCopy(step.copy, stage, dir, (c, source) => {
          if (c.from !== undefined)
            throw new Error(
              `a COPY --from inside a build stage is not read by this helper: ${c.from}`,
            );
          return join(ROOT, source);
        });
    }
    built.set(stage.name ?? String(index), { stage, dir });
  }
  const image = join(target, 'app');
  mkdirSync(image, { recursive: true });
  for (const copy of runtime.copies) {
    applyCopy(copy, runtime, image, (c, source) => {
      if (c.from === undefined) return join(ROOT, source);
      const from = built.get(c.from);
      if (!from) throw new Error(`COPY --from=${c.from}: no such build stage`);
      return join(
        from.dir,
        posix.relative(from.stage.workdir, posix.resolve(from.stage.workdir, source)),
      );
    });
  }
}

let pending: Promise<DockerImage> | undefined;

/**
 * Where images are kept: outside the repository, whose node_modules Node would otherwise find by
 * walking up from dist/ whatever the image's own node_modules holds. One folder per checkout.
 */
const CACHE = join(
  tmpdir(),
  `otp-verify-image-${createHash('sha256').update(ROOT).digest('hex').slice(0, 8)}`,
);

/** Node resolves packages from every ancestor's node_modules: none may exist above the image. */
function assertNoNodeModulesAbove(dir: string): void {
  for (let parent = resolve(dir, '..'); ; parent = resolve(parent, '..')) {
    if (existsSync(join(parent, 'node_modules')))
      throw new Error(
        `${parent}/node_modules would be found from the image's dist/: the image directory must not be under it`,
      );
    if (parent === resolve(parent, '..')) return;
  }
}

/**
 * Builds the image's directory once per content of the files it is made of, shared by every test
 * file and run (<tmp>/otp-verify-image-<checkout>/<digest>/app): milliseconds when cached, a tsc
 * build (10–20 s) otherwise. Test files in parallel processes wait for the one that builds.
 */
export function buildDockerImage(): Promise<DockerImage> {
  pending ??= buildOnce();
  return pending;
}

async function buildOnce(): Promise<DockerImage> {
  const stages = dockerfile();
  const runtime = stages.at(-1);
  if (!runtime || stages.length < 2)
    throw new Error('the Dockerfile has no build stage and runtime stage');
  const cache = CACHE;
  const target = join(cache, inputsDigest(stages));
  const ready = join(target, 'READY');
  const lock = `${target}.lock`;
  mkdirSync(cache, { recursive: true });
  const deadline = performance.now() + 240_000;
  while (!existsSync(ready)) {
    try {
      mkdirSync(lock);
    } catch {
      // Another process builds it; a lock older than the longest build is a crashed builder's.
      if (existsSync(lock) && Date.now() - statSync(lock).mtimeMs > 240_000)
        rmSync(lock, { recursive: true, force: true });
      if (performance.now() > deadline) throw new Error(`timed out waiting for ${lock}`);
      await new Promise((resolveWait) => setTimeout(resolveWait, 250));
      continue;
    }
    try {
      if (!existsSync(ready)) {
        const partial = `${target}.partial-${process.pid}`;
        rmSync(partial, { recursive: true, force: true });
        try {
          await assemble(stages, partial);
        } catch (error) {
          rmSync(partial, { recursive: true, force: true });
          throw error;
        }
        writeFileSync(join(partial, 'READY'), new Date().toISOString());
        rmSync(target, { recursive: true, force: true });
        renameSync(partial, target);
        // Older digests are of sources that have since changed.
        for (const name of readdirSync(cache))
          if (join(cache, name) !== target && !name.endsWith('.lock'))
            rmSync(join(cache, name), { recursive: true, force: true });
      }
    } finally {
      rmSync(lock, { recursive: true, force: true });
    }
  }
  assertNoNodeModulesAbove(join(target, 'app'));
  return {
    dir: join(target, 'app'),
    env: runtime.env,
    cmd: runtime.cmd ?? [],
    copies: runtime.copies,
  };
}
