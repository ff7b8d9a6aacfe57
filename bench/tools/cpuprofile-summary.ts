/**
 * Where did the server's CPU go? Summarises a V8 .cpuprofile (`node --cpu-prof`; the server writes
 * one with `LOAD_CPU_PROF=1 npx tsx bench/tools/load-server.ts …`): self time by function and by
 * file (or package), and inclusive time of the functions that matter, as percentages of the profile.
 *
 *   npx tsx bench/tools/cpuprofile-summary.ts <file.cpuprofile> [top=25] [filter]
 *
 * PROFILE_LAST_S=10 keeps only the profile's last 10 seconds (the measured run, without the
 * warm-up or the starts a check scenario makes first).
 */
import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const [file, topArg, filter] = process.argv.slice(2);
if (!file) throw new Error('usage: cpuprofile-summary.ts <file.cpuprofile> [top] [filter]');
const TOP = Number(topArg ?? 25);
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

const selfTime = new Map<number, number>();
const lastUs = Number(process.env.PROFILE_LAST_S ?? 0) * 1e6;
const span = profile.timeDeltas.reduce((a, b) => a + b, 0);
let elapsed = 0;
profile.samples.forEach((id, i) => {
  const delta = profile.timeDeltas[i] ?? 0;
  elapsed += delta;
  if (lastUs && elapsed < span - lastUs) return;
  selfTime.set(id, (selfTime.get(id) ?? 0) + delta);
});
const total = [...selfTime.values()].reduce((a, b) => a + b, 0);

function where(frame: CallFrame): string {
  const url = frame.url.replace(/^file:\/\//, '');
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1];
  if (pkg) return pkg;
  for (const dir of ['/src/', '/dist/'])
    if (url.includes(dir)) return `src/${url.slice(url.indexOf(dir) + dir.length)}`;
  if (url.startsWith('node:')) return url;
  return url || '(native)';
}

const label = (frame: CallFrame): string =>
  `${frame.functionName || '(anonymous)'} ${where(frame)}:${frame.lineNumber + 1}`;

function tally(key: (node: ProfileNode) => string): [string, number][] {
  const sums = new Map<string, number>();
  for (const [id, t] of selfTime) {
    const node = byId.get(id);
    if (!node) continue;
    const k = key(node);
    sums.set(k, (sums.get(k) ?? 0) + t);
  }
  return [...sums].sort((a, b) => b[1] - a[1]);
}

/** Inclusive time: a sample counts once for every distinct function on its stack. */
function inclusive(): [string, number][] {
  const sums = new Map<string, number>();
  for (const [id, t] of selfTime) {
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const node = byId.get(cur);
      if (!node) break;
      const k = label(node.callFrame);
      if (seen.has(k)) continue;
      seen.add(k);
      sums.set(k, (sums.get(k) ?? 0) + t);
    }
  }
  return [...sums].sort((a, b) => b[1] - a[1]);
}

const pct = (t: number): string => `${((t / total) * 100).toFixed(1).padStart(5)}%`;
const print = (title: string, rows: [string, number][]): void => {
  console.log(`\n${title}`);
  for (const [k, t] of rows.slice(0, TOP)) console.log(`${pct(t)}  ${k}`);
};

console.log(`profile: ${(total / 1e6).toFixed(2)} s sampled`);
print(
  'self time by file or package',
  tally((n) => where(n.callFrame)),
);
print(
  'self time by function',
  tally((n) => label(n.callFrame)),
);
const inc = inclusive();
print(
  'inclusive time (src/ functions)',
  inc.filter(([k]) => k.includes(' src/') && (!filter || k.includes(filter))),
);
if (filter)
  print(
    `inclusive time matching ${filter}`,
    inc.filter(([k]) => k.includes(filter)),
  );
