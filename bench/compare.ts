/**
 * `npm run bench:compare -- A.json B.json [--growth]`: two bench results side by side, scenario by
 * scenario (B relative to A). `--growth` compares their post-growth scenarios instead; with one
 * file, it compares that run before and after its growth.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { Command } from 'commander';
import { compareTable, type BenchReport } from './lib/report.js';

const program = new Command()
  .name('npm run bench:compare --')
  .argument('<a>', 'result file (bench/results/*.json)')
  .argument('[b]', 'second result file')
  .option('--growth', 'compare the scenarios after growth')
  .parse();
const [aPath, bPath] = program.args as [string, string | undefined];
const { growth } = program.opts<{ growth?: boolean }>();

const read = (path: string): BenchReport => JSON.parse(readFileSync(path, 'utf8')) as BenchReport;
const describe = (r: BenchReport): string =>
  `${r.backend}, ${r.settings.connections} connections × ${r.settings.durationSeconds} s, Node ${r.machine.node}, ${r.machine.cpus} × ${r.machine.cpuModel}, load ${r.loadAverage.start.join(' ')} → ${r.loadAverage.end.join(' ')}`;

const a = read(aPath);
const grown = (r: BenchReport, path: string): NonNullable<BenchReport['growth']> => r.growth ?? program.error(`${path} has no growth run (run the bench with --growth)`);
if (bPath === undefined) {
  const g = grown(a, aPath);
  process.stdout.write(`A: ${basename(aPath)} before growth\nB: the same run after +${g.seeding.verifications} verifications, +${g.seeding.failures} failures (${describe(a)})\n\n`);
  process.stdout.write(`${compareTable(a.scenarios, g.scenarios)}\n`);
} else {
  const b = read(bPath);
  const pick = (r: BenchReport, path: string): BenchReport['scenarios'] => (growth ? grown(r, path).scenarios : r.scenarios);
  process.stdout.write(`A: ${basename(aPath)} (${describe(a)})\nB: ${basename(bPath)} (${describe(b)})\n\n`);
  process.stdout.write(`${compareTable(pick(a, aPath), pick(b, bPath))}\n`);
}
