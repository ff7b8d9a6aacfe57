// The service runs with the same node flags wherever it is started for real: `npm run start:prod`,
// the Docker image, and the bench (which reads them from package.json), so the figures the bench
// prints are those of the image.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { productionNodeFlags } from '../../bench/lib/process.js';

const read = (path: string): string => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

describe('runtime flags', () => {
  it('the Dockerfile CMD runs node with the flags of npm run start:prod', () => {
    const flags = productionNodeFlags();
    expect(flags).toContain('--max-semi-space-size=4');
    const cmd = /^CMD (\[.*\])$/m.exec(read('Dockerfile'))?.[1];
    expect(cmd).toBeDefined();
    expect(JSON.parse(cmd ?? '[]')).toEqual(['node', ...flags, 'dist/main.js']);
  });

  it('every flag is one node accepts in NODE_OPTIONS too (so a platform that sets them there can)', () => {
    for (const flag of productionNodeFlags()) expect(process.allowedNodeEnvironmentFlags.has(flag.split('=')[0] ?? '')).toBe(true);
  });
});
