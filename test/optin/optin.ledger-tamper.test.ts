/**
 * Threat: consent evidence that can be edited is worthless in an audit or a TCPA suit. If any API
 * route, or any SQL outside the retention purge, could update or delete a ledger entry, a brand (or
 * an attacker with an API key) could fabricate or erase consent after the fact. This walks every
 * mounted route with plausible requests and proves the existing entries survive byte for byte, and
 * that the database itself refuses UPDATE and DELETE of ledger rows.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestApp, RELAXED_LIMITS, type TestApp } from '../helpers/test-app.js';
import { createList, ledgerRows, NUMBER, optinCode, reply, SENDER, subscribe } from './helpers.js';

const DAY = 86_400_000;

describe('the consent ledger is append-only', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await createTestApp({ env: RELAXED_LIMITS });
  });
  afterEach(() => t.close());

  async function seed(): Promise<string> {
    const list = await createList(t, { confirmationWindowHours: 1 });
    await subscribe(t, list.id);
    await subscribe(t, list.id, { to: '+14155550124' });
    await reply(t, 'YES');
    await subscribe(t, list.id, { to: '+14155550125' });
    t.clock.advance(2 * 3_600_000); // the third expires
    await t.deps.optin.service.expireDue();
    return list.id;
  }

  it('no mounted route alters an existing entry', async () => {
    const listId = await seed();
    const before = ledgerRows(t);
    expect(before.length).toBeGreaterThanOrEqual(7);

    const bodies: Record<string, unknown[]> = {
      '/v1/lists': [{ name: 'x', brand: 'x', sender: SENDER }],
      '/v1/lists/:listId/subscribers': [
        { to: NUMBER, consentText: 'changed text', source: 'forged' },
        { to: '+14155550124', consentText: 'x', source: 'x' },
      ],
      '/v1/lists/:listId/subscribers/confirm': [
        { to: '+14155550124', code: '000000' },
        { to: NUMBER, code: '123456' },
      ],
      '/v1/webhooks/log/inbound': [
        { from: NUMBER, to: SENDER, body: 'STOP' },
        { from: '+14155550124', to: SENDER, body: 'YES' },
        { from: NUMBER, to: SENDER, body: 'HELP' },
      ],
      '/v1/verifications': [{ to: NUMBER }],
    };
    const routes = [
      ...new Map(
        t.app.routes.filter((r) => r.method !== 'ALL').map((r) => [`${r.method} ${r.path}`, r]),
      ).values(),
    ];
    expect(routes.length).toBeGreaterThan(20);
    const fill = (path: string) =>
      path
        .replace(':listId', listId)
        .replace(':number', encodeURIComponent(NUMBER))
        .replace(/:[A-Za-z]+/g, 'x');
    let calls = 0;
    for (const route of routes) {
      for (const body of [...(bodies[route.path] ?? []), {}, undefined]) {
        const response = await t.call(route.method, fill(route.path), {
          body: route.method === 'GET' || route.method === 'DELETE' ? undefined : body,
        });
        expect(response.status, `${route.method} ${route.path}`).toBeLessThan(500);
        calls += 1;
      }
    }
    // Every route, including DELETE of the subscriber, a re-subscribe and STOP, ran; history is intact.
    expect(calls).toBeGreaterThan(routes.length * 2);
    console.log(
      `ledger walk: ${routes.length} routes, ${calls} requests, ${before.length} entries kept, ${ledgerRows(t).length - before.length} appended`,
    );
    const after = ledgerRows(t);
    expect(after.slice(0, before.length)).toEqual(before);
    expect(after.length).toBeGreaterThan(before.length);
  });

  it('the database refuses UPDATE and DELETE of ledger rows', () => {
    return seed().then(() => {
      const raw = t.database.raw;
      expect(() =>
        raw.prepare("UPDATE optin_consent_ledger SET consent_text = 'forged' WHERE id = 1").run(),
      ).toThrow(/append-only/);
      expect(() => raw.prepare('DELETE FROM optin_consent_ledger WHERE id = 1').run()).toThrow(
        /append-only/,
      );
      expect(() => raw.prepare('DELETE FROM optin_consent_ledger').run()).toThrow(/append-only/);
      expect(
        raw.prepare('SELECT consent_text FROM optin_consent_ledger WHERE id = 1').get(),
      ).toEqual({ consent_text: expect.stringContaining('I agree') });
    });
  });

  it('only the retention purge deletes, and only entries older than its cutoff', async () => {
    const listId = await seed();
    const old = ledgerRows(t).length;
    t.clock.advance(10 * DAY);
    await subscribe(t, listId, { to: '+14155550126' });
    const total = ledgerRows(t).length;

    expect(await t.deps.optin.service.purgeLedger(t.clock.now() - DAY)).toBe(old);
    expect(ledgerRows(t)).toHaveLength(total - old);
    // The gate is closed again after the purge.
    expect(() => t.database.raw.prepare('DELETE FROM optin_consent_ledger').run()).toThrow(
      /append-only/,
    );
    expect(t.database.raw.prepare('SELECT purge_before FROM optin_ledger_retention').get()).toEqual(
      { purge_before: 0 },
    );
  });

  it('the live code never reaches the ledger in clear', async () => {
    const list = await createList(t);
    await subscribe(t, list.id);
    const code = optinCode(t);
    const dump = JSON.stringify(ledgerRows(t));
    expect(dump).not.toContain(code);
  });
});
