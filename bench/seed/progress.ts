import cliProgress from 'cli-progress';

/**
 * Progress bars for a seeding run (on stderr; a line every 5 s when stderr is not a terminal).
 * Returns the seeder's onProgress callback and a stop to call once it returned.
 */
export function createSeedProgress(totals: { verifications: number; failures: number }): {
  onProgress: (part: 'verifications' | 'failures', done: number, total: number) => void;
  stop: () => void;
} {
  const bars = new cliProgress.MultiBar(
    {
      format:
        '  {part} [{bar}] {percentage}% | {value}/{total} rows | {speed} rows/s | ETA {eta_formatted}',
      barsize: 30,
      hideCursor: true,
      noTTYOutput: true,
      notTTYSchedule: 5000,
      formatValue: (value, _options, type) =>
        type === 'value' || type === 'total' ? value.toLocaleString('en-US') : String(value),
    },
    cliProgress.Presets.shades_classic,
  );
  const started = Date.now();
  const made = {
    verifications:
      totals.verifications > 0
        ? bars.create(totals.verifications, 0, { part: 'verifications', speed: 0 })
        : undefined,
    failures:
      totals.failures > 0
        ? bars.create(totals.failures, 0, { part: 'failures     ', speed: 0 })
        : undefined,
  };
  // Failures are seeded after verifications: their speed counts from then.
  let failuresStarted = started;
  return {
    onProgress(part, done, total) {
      if (part === 'verifications' && done === total) failuresStarted = Date.now();
      const since = part === 'failures' ? failuresStarted : started;
      const seconds = Math.max(0.001, (Date.now() - since) / 1000);
      made[part]?.update(done, { speed: Math.round(done / seconds).toLocaleString('en-US') });
    },
    stop: () => bars.stop(),
  };
}
