/**
 * In-process profile helper: N starts then N checks through app.request, timed in CPU time
 * (process.cpuUsage), which is steadier than wall time on a shared machine.
 * Run with `node --cpu-prof --import tsx bench/prof-start.ts` to get a profile.
 */
import { createTestApp, RELAXED_LIMITS } from '../test/helpers/test-app.js';

const t = await createTestApp({ env: { ...RELAXED_LIMITS, LIMIT_APP_STARTS_HOUR: '10000000', LIMIT_COUNTRY_STARTS_HOUR: '10000000' } });
const N = Number(process.env.N ?? 3000);
const ids: string[] = [];
for (let i = 0; i < 200; i++) await t.call('POST', '/v1/verifications', { body: { to: `+3361${String(i).padStart(7, '0')}` } });
let cpu = process.cpuUsage();
for (let i = 0; i < N; i++) {
  const to = `+3361${String(Math.floor(Math.random() * 1e7)).padStart(7, '0')}`;
  const response = await t.call('POST', '/v1/verifications', { body: { to } });
  ids.push(((await response.json()) as { id: string }).id);
}
let used = process.cpuUsage(cpu);
console.log('start: CPU µs/op', Math.round((used.user + used.system) / N));
const codes = new Map(t.outbox().map((line) => [line.verificationId, /(\d{6})/.exec(line.body)?.[1] ?? '']));
cpu = process.cpuUsage();
for (const id of ids) await t.call('POST', `/v1/verifications/${id}/check`, { body: { code: codes.get(id) } });
used = process.cpuUsage(cpu);
console.log('check: CPU µs/op', Math.round((used.user + used.system) / N));
