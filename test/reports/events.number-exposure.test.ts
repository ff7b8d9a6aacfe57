// Threat: the event record holds every phone number that ever asked for a code. Exploitable if a copy
// of the database (backup, stolen disk, SQL injection elsewhere) gave the numbers in clear, if a
// reports key read full numbers without a trace, or if an analyst's screen or CSV showed them by default.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestApp, expectProblem, type TestApp } from '../helpers/test-app.js';
import { ATTACKER_IP, FR_NUMBER, FR_PREFIX, SCENARIO, seedScenario } from './seed.js';

interface EventView {
  id: string;
  at: number;
  kind: string;
  reason: string;
  number: string | null;
  numberHash: string | null;
  prefix: string | null;
  details: Record<string, unknown> | null;
  ip: string | null;
  verificationId: string | null;
}

interface Page {
  events: EventView[];
  nextCursor: string | null;
}

describe('event record: numbers protected at rest, masked by default, full only on request and audited', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await createTestApp();
    await seedScenario(t);
  });
  afterEach(() => t.close());

  const page = async (query: string, key?: string): Promise<Page> => {
    const response = await t.call('GET', `/v1/events?${query}`, { key });
    expect(response.status, await response.clone().text()).toBe(200);
    return (await response.json()) as Page;
  };

  it('keeps no number in clear in the database: hash, AES-GCM ciphertext and prefix only', () => {
    const columns = (
      t.database.raw.prepare('pragma table_info(events)').all() as { name: string }[]
    ).map((c) => c.name);
    expect(columns).not.toContain('number');
    expect(columns).toEqual(expect.arrayContaining(['number_hash', 'number_enc', 'prefix']));
    const dump = JSON.stringify(t.database.raw.prepare('select * from events').all());
    for (const digits of ['33612345678', '447700900123', '14155550123', '612345678'])
      expect(dump).not.toContain(digits);
    const row = t.database.raw
      .prepare('select number_hash, number_enc, prefix from events where prefix = ? limit 1')
      .get(FR_PREFIX) as Record<string, string>;
    expect(row.number_hash).toMatch(/^[0-9a-f]{32}$/);
    expect(row.number_enc).toMatch(/^v1\.[\w-]{16}\.[\w-]{22}\.[\w-]+$/);
  });

  it('lists records newest first with masked numbers, and filters by number, hash, prefix, ip, reason and verification', async () => {
    const all = await page('limit=500');
    expect(all.events).toHaveLength(SCENARIO.length - 1);
    expect(all.events.map((e) => e.at)).toEqual(
      [...all.events.map((e) => e.at)].sort((a, b) => b - a),
    );
    const fr = all.events.find((e) => e.reason === 'approved' && e.prefix === FR_PREFIX);
    expect(fr?.number).toBe('+33 6 •• •• •• 78');
    expect(JSON.stringify(all)).not.toContain('33612345678');

    const byNumber = await page(`number=${encodeURIComponent(FR_NUMBER)}`);
    expect(byNumber.events).toHaveLength(11);
    expect((await page(`numberHash=${byNumber.events[0]!.numberHash}`)).events).toHaveLength(11);
    expect((await page(`prefix=${encodeURIComponent(FR_PREFIX)}`)).events).toHaveLength(14);
    expect(
      (await page(`ip=${ATTACKER_IP}&reason=rate_limited`)).events.map((e) => e.details),
    ).toEqual([
      { count: 33, limit: 30 },
      { count: 32, limit: 30 },
      { count: 31, limit: 30 },
    ]);
    expect((await page('verificationId=ver_fr1')).events.map((e) => e.reason).sort()).toEqual([
      'incorrect_code',
      'incorrect_code',
      'incorrect_code',
      'incorrect_code',
      'sent',
      'started',
    ]);
    expect((await page('kind=failure&days=60')).events).toHaveLength(13);
  });

  it('paginates with a cursor without skipping or repeating a record, even for records at the same millisecond', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const p: Page = await page(`limit=4${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...p.events.map((e) => e.id));
      cursor = p.nextCursor;
      pages += 1;
    } while (cursor);
    expect(pages).toBe(Math.ceil((SCENARIO.length - 1) / 4));
    expect(new Set(seen).size).toBe(SCENARIO.length - 1);
    await expectProblem(
      await t.call('GET', '/v1/events?cursor=bm90LWEtY3Vyc29y'),
      400,
      'invalid_request',
    );
  });

  it('reveals full numbers only on request, and records who asked, without the numbers', async () => {
    const key = await t.createKey('default', ['reports']);
    const revealed = await t.call(
      'GET',
      `/v1/events?reveal=true&prefix=${encodeURIComponent(FR_PREFIX)}&reason=approved`,
      {
        key,
        headers: { 'user-agent': 'analyst-browser' },
      },
    );
    expect(revealed.headers.get('cache-control')).toBe('no-store');
    const body = (await revealed.json()) as Page;
    expect(body.events.map((e) => e.number)).toEqual([FR_NUMBER]);

    t.clock.advance(1000);
    const audit = await page('kind=audit');
    expect(audit.events).toHaveLength(1);
    expect(audit.events[0]).toMatchObject({
      reason: 'number_revealed',
      ip: '198.51.100.10',
      number: null,
    });
    expect(audit.events[0]!.details).toMatchObject({
      numbers: 1,
      events: 1,
      numberHashes: [body.events[0]!.numberHash],
    });
    expect(String(audit.events[0]!.details?.keyId)).toMatch(/^key_/);
    expect(JSON.stringify(audit)).not.toContain('33612345678');
    // Audit records are not failures: they stay out of failure reports.
    const failures = (await (
      await t.call('GET', '/v1/reports/failures?groupBy=reason')
    ).json()) as { groups: { key: string }[] };
    expect(failures.groups.map((g) => g.key)).not.toContain('number_revealed');
  });

  it('refuses a malformed number filter instead of hashing garbage', async () => {
    await expectProblem(
      await t.call('GET', '/v1/events?number=0612345678'),
      400,
      'invalid_request',
    );
    await expectProblem(await t.call('GET', '/v1/events?numberHash=zz'), 400, 'invalid_request');
  });
});
