import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { compareTable, type BenchReport } from './report.js';

const read = (path: string): BenchReport => JSON.parse(readFileSync(path, 'utf8')) as BenchReport;

const describe = (r: BenchReport): string =>
  `${r.backend}, ${r.settings.connections} connections × ${r.settings.durationSeconds} s, Node ${r.machine.node}, ${r.machine.cpus} × ${r.machine.cpuModel}, load ${r.loadAverage.start.join(' ')} → ${r.loadAverage.end.join(' ')}`;

/**
 * `npm run bench -- compare A.json [B.json] [--growth]`: two results of bench/results/ side by side,
 * scenario by scenario (B relative to A). `growth` compares their post-growth scenarios instead;
 * with one file, that run before and after its growth. Throws when a file has no growth run and
 * one was asked for.
 */
export function compareRuns(
  aPath: string,
  bPath: string | undefined,
  options: { growth: boolean },
): string {
  const a = read(aPath);
  const grown = (r: BenchReport, path: string): NonNullable<BenchReport['growth']> => {
    if (!r.growth) throw new Error(`${path} has no growth run (run the bench with --growth)`);
    return r.growth;
  };
  if (bPath === undefined) {
    const g = grown(a, aPath);
    return `A: ${basename(aPath)} before growth\nB: the same run after +${g.seeding.verifications} verifications, +${g.seeding.failures} failures (${describe(a)})\n\n${compareTable(a.scenarios, g.scenarios)}\n`;
  }
  const b = read(bPath);
  const pick = (r: BenchReport, path: string): BenchReport['scenarios'] =>
    options.growth ? grown(r, path).scenarios : r.scenarios;
  return `A: ${basename(aPath)} (${describe(a)})\nB: ${basename(bPath)} (${describe(b)})\n\n${compareTable(pick(a, aPath), pick(b, bPath))}\n`;
}
