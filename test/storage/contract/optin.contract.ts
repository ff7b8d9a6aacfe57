import { expect, it } from 'vitest';
import type { LedgerEntry, SubscriberRecord } from '../../../src/optin/optin.store.js';
import { newId } from '../../../src/platform/ids.js';
import { RACERS, type StoreContext } from './backends.js';
import { aList, anEntry, aSignup, compareText, defined, HOUR, NOW, times } from './fixtures.js';

/**
 * Marketing lists, subscribers and the consent ledger. Exploitable if broken: an extra
 * confirmation attempt won by a race (brute force of the code), a second winner of a one-winner
 * transition (a double confirmation), consent evidence rewritten, lost or recorded for a change
 * that did not happen.
 */
export function optinContract(ctx: () => StoreContext): void {
  it('keeps lists per app, oldest first (then by id), and finds them by sender across apps', async () => {
    const { stores } = ctx();
    const app = newId('app', Date.now());
    const { sender } = aList(app);
    const late = aList(app, { createdAt: NOW + 10, sender });
    const [tieA, tieB] = [aList(app, { createdAt: NOW }), aList(app, { createdAt: NOW })].sort(
      (a, b) => compareText(a.id, b.id),
    );
    const elsewhere = aList(newId('app', Date.now()), {
      createdAt: NOW - 5,
      sender,
      templates: {},
      helpContact: null,
    });
    for (const list of [late, tieB!, tieA!, elsewhere]) await stores.optin.createList(list);

    expect(await stores.optin.findList(app, late.id)).toEqual(late);
    expect(await stores.optin.findList(app, elsewhere.id)).toBeUndefined();
    expect(await stores.optin.findList(elsewhere.app, elsewhere.id)).toEqual(elsewhere);
    expect((await stores.optin.listLists(app)).map((l) => l.id)).toEqual([
      tieA!.id,
      tieB!.id,
      late.id,
    ]);
    expect(await stores.optin.listsBySender(sender)).toEqual([elsewhere, late]);
    expect(await stores.optin.listLists(newId('app', Date.now()))).toEqual([]);
  });

  it('opens a sign-up, restarts it with a new generation unless confirmed, and writes evidence only when the row changed', async () => {
    const { stores } = ctx();
    const list = aList(newId('app', Date.now()));
    await stores.optin.createList(list);
    const number = '+14155550123';
    const first = aSignup(list, number);
    const opened = await stores.optin.openSignup(first, [
      anEntry(list, number, 'requested', { signupId: first.signupId, details: { form: 'deals' } }),
    ]);
    expect(opened).toEqual<SubscriberRecord>({
      id: first.id,
      app: list.app,
      listId: list.id,
      number,
      status: 'pending',
      signupId: first.signupId,
      codeHash: first.codeHash,
      attempts: 0,
      maxAttempts: 3,
      locale: 'en',
      requestedAt: NOW,
      expiresAt: NOW + HOUR,
      confirmedAt: null,
      unsubscribedAt: null,
      updatedAt: NOW,
    });
    expect(await stores.optin.reserveAttempt(list.id, number, first.signupId, NOW + 1)).toBe(1);

    const second = aSignup(list, number, {
      now: NOW + 10,
      expiresAt: NOW + 2 * HOUR,
      locale: 'fr',
    });
    const restarted = await stores.optin.openSignup(second, [
      anEntry(list, number, 'requested', { at: NOW + 10, signupId: second.signupId }),
    ]);
    expect(restarted).toMatchObject({
      id: first.id,
      signupId: second.signupId,
      codeHash: second.codeHash,
      attempts: 0,
      locale: 'fr',
      requestedAt: NOW + 10,
      expiresAt: NOW + 2 * HOUR,
    });
    // The first generation's code no longer counts.
    expect(
      await stores.optin.reserveAttempt(list.id, number, first.signupId, NOW + 11),
    ).toBeUndefined();

    expect(
      await stores.optin.confirmPending(list.id, number, second.signupId, NOW + 20, [
        anEntry(list, number, 'confirmed', { at: NOW + 20 }),
      ]),
    ).toMatchObject({ status: 'confirmed' });
    const third = aSignup(list, number, { now: NOW + 30 });
    expect(
      await stores.optin.openSignup(third, [anEntry(list, number, 'requested', { at: NOW + 30 })]),
    ).toBeUndefined();
    expect(await stores.optin.findSubscriber(list.id, number)).toMatchObject({
      status: 'confirmed',
      signupId: second.signupId,
      confirmedAt: NOW + 20,
      codeHash: null,
    });

    const trail = await stores.optin.ledgerFor(list.id, number);
    expect(trail.map((e) => [e.type, e.at])).toEqual([
      ['requested', NOW],
      ['requested', NOW + 10],
      ['confirmed', NOW + 20],
    ]);
    expect(trail[0]).toMatchObject({
      details: { form: 'deals' },
      signupId: first.signupId,
      channel: 'api',
      consentTextVersion: 'v1',
    });
    expect(trail[0]!.id).toBeLessThan(trail[1]!.id);

    // An unsubscribed number may sign up again.
    expect(await stores.optin.unsubscribe(list.id, number, NOW + 40, () => [])).toMatchObject({
      status: 'unsubscribed',
    });
    const fourth = aSignup(list, number, { now: NOW + 50 });
    expect(await stores.optin.openSignup(fourth, [])).toMatchObject({
      status: 'pending',
      signupId: fourth.signupId,
      unsubscribedAt: null,
      confirmedAt: null,
    });
  });

  it(`${RACERS} concurrent sign-ups of one number all succeed in turn and leave one generation`, async () => {
    const { stores } = ctx();
    const list = aList(newId('app', Date.now()));
    await stores.optin.createList(list);
    const number = '+33612345678';
    const inputs = Array.from({ length: RACERS }, () => aSignup(list, number));
    const results = await times(RACERS, (i) =>
      stores.optin.openSignup(inputs[i]!, [
        anEntry(list, number, 'requested', { signupId: inputs[i]!.signupId }),
      ]),
    );
    expect(defined(results)).toHaveLength(RACERS);
    const final = await stores.optin.findSubscriber(list.id, number);
    expect(inputs.map((i) => i.signupId)).toContain(final!.signupId);
    expect(new Set(results.map((r) => r!.id)).size).toBe(1);
    expect(await stores.optin.ledgerFor(list.id, number)).toHaveLength(RACERS);
  });

  it(`reserves no more attempts than are left, whatever ${RACERS} concurrent callers do`, async () => {
    const { stores } = ctx();
    const list = aList(newId('app', Date.now()));
    await stores.optin.createList(list);
    const number = '+447700900123';
    const signup = aSignup(list, number, { maxAttempts: 3 });
    await stores.optin.openSignup(signup, []);
    expect(await stores.optin.reserveAttempt(list.id, number, signup.signupId, NOW + 1)).toBe(1);
    const reserved = defined(
      await times(RACERS, () =>
        stores.optin.reserveAttempt(list.id, number, signup.signupId, NOW + 2),
      ),
    );
    expect(reserved.sort()).toEqual([2, 3]);
    expect(await stores.optin.findSubscriber(list.id, number)).toMatchObject({
      attempts: 3,
      updatedAt: NOW + 2,
    });

    const other = aSignup(list, '+447700900124', { expiresAt: NOW + 100 });
    await stores.optin.openSignup(other, []);
    expect(
      await stores.optin.reserveAttempt(list.id, other.number, newId('sgn', Date.now()), NOW + 1),
    ).toBeUndefined();
    expect(
      await stores.optin.reserveAttempt(list.id, other.number, other.signupId, NOW + 100),
    ).toBeUndefined(); // expired
    expect(await stores.optin.reserveAttempt(list.id, other.number, other.signupId, NOW + 99)).toBe(
      1,
    );
  });

  it(`confirms a pending generation for exactly one of ${RACERS} concurrent callers, with its evidence once`, async () => {
    const { stores } = ctx();
    const list = aList(newId('app', Date.now()));
    await stores.optin.createList(list);
    const number = '+14155550199';
    const signup = aSignup(list, number);
    await stores.optin.openSignup(signup, []);
    expect(
      await stores.optin.confirmPending(list.id, number, newId('sgn', Date.now()), NOW + 1, [
        anEntry(list, number, 'confirmed'),
      ]),
    ).toBeUndefined();
    expect(
      await stores.optin.confirmPending(list.id, number, signup.signupId, NOW + HOUR, [
        anEntry(list, number, 'confirmed'),
      ]),
    ).toBeUndefined(); // window ended

    const results = await times(RACERS, (i) =>
      stores.optin.confirmPending(list.id, number, signup.signupId, NOW + 5, [
        anEntry(list, number, 'confirmed', { details: { racer: i } }),
      ]),
    );
    const winners = defined(results);
    expect(winners).toHaveLength(1);
    expect(winners[0]).toMatchObject({
      status: 'confirmed',
      confirmedAt: NOW + 5,
      codeHash: null,
      updatedAt: NOW + 5,
    });
    expect((await stores.optin.ledgerFor(list.id, number)).map((e) => e.type)).toEqual([
      'confirmed',
    ]);
  });

  it(`unsubscribes for exactly one of ${RACERS} concurrent callers, passing it the changed row`, async () => {
    const { stores } = ctx();
    const list = aList(newId('app', Date.now()));
    await stores.optin.createList(list);
    const number = '+14155550177';
    expect(
      await stores.optin.unsubscribe(list.id, number, NOW, () => [
        anEntry(list, number, 'unsubscribed'),
      ]),
    ).toBeUndefined(); // never signed up
    const signup = aSignup(list, number);
    await stores.optin.openSignup(signup, []);
    const seen: SubscriberRecord[] = [];
    const results = await times(RACERS, () =>
      stores.optin.unsubscribe(list.id, number, NOW + 7, (row) => {
        seen.push(row);
        return [anEntry(list, number, 'unsubscribed', { at: NOW + 7, signupId: row.signupId })];
      }),
    );
    expect(defined(results)).toHaveLength(1);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({
      status: 'unsubscribed',
      unsubscribedAt: NOW + 7,
      codeHash: null,
      signupId: signup.signupId,
    });
    expect(await stores.optin.ledgerFor(list.id, number)).toMatchObject([
      { type: 'unsubscribed', signupId: signup.signupId },
    ]);
  });

  it('expires each due sign-up exactly once across concurrent sweeps, with one ledger entry each, and nothing else', async () => {
    const { stores } = ctx();
    const list = aList(newId('app', Date.now()));
    await stores.optin.createList(list);
    const due = Array.from({ length: 25 }, (_, i) =>
      aSignup(list, `+1202555${String(1000 + i)}`, { expiresAt: NOW - 1000 + i }),
    );
    const notDue = Array.from({ length: 3 }, (_, i) =>
      aSignup(list, `+1202556${String(1000 + i)}`, { expiresAt: NOW + 1 }),
    );
    const confirmed = aSignup(list, '+12025570000', { expiresAt: NOW + 10 });
    for (const signup of [...due, ...notDue, confirmed]) await stores.optin.openSignup(signup, []);
    await stores.optin.confirmPending(
      list.id,
      confirmed.number,
      confirmed.signupId,
      NOW - 5000,
      [],
    );

    const entry = (row: SubscriberRecord): LedgerEntry =>
      anEntry(list, row.number, 'expired', { channel: 'system', signupId: row.signupId });
    const sweeps = await times(4, () => stores.optin.expireDue(NOW, 10, entry));
    const swept = sweeps.flat().filter((row) => row.listId === list.id);
    const rest = (await stores.optin.expireDue(NOW, 1000, entry)).filter(
      (row) => row.listId === list.id,
    );
    const all = [...swept, ...rest].map((row) => row.number);
    expect(all.sort()).toEqual(due.map((s) => s.number).sort());
    for (const sweep of sweeps) expect(sweep.length).toBeLessThanOrEqual(10);
    for (const row of [...swept, ...rest])
      expect(row).toMatchObject({ status: 'expired', codeHash: null, updatedAt: NOW });
    for (const signup of due)
      expect((await stores.optin.ledgerFor(list.id, signup.number)).map((e) => e.type)).toEqual([
        'expired',
      ]);
    for (const signup of notDue)
      expect(await stores.optin.findSubscriber(list.id, signup.number)).toMatchObject({
        status: 'pending',
      });
    expect(await stores.optin.findSubscriber(list.id, confirmed.number)).toMatchObject({
      status: 'confirmed',
    });
  });

  it('pages through a list by id after a cursor, optionally in one status', async () => {
    const { stores } = ctx();
    const list = aList(newId('app', Date.now()));
    await stores.optin.createList(list);
    const signups = Array.from({ length: 12 }, (_, i) =>
      aSignup(list, `+3361234${String(1000 + i)}`),
    );
    for (const signup of signups) await stores.optin.openSignup(signup, []);
    for (const signup of signups.slice(0, 5))
      await stores.optin.confirmPending(list.id, signup.number, signup.signupId, NOW + 1, []);
    const byId = [...signups].sort((a, b) => compareText(a.id, b.id));

    const seen: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await stores.optin.page(list.id, undefined, after, 5);
      seen.push(...page.map((row) => row.id));
      if (page.length < 5) break;
      after = page.at(-1)!.id;
    }
    expect(seen).toEqual(byId.map((s) => s.id));
    const confirmedIds = byId.filter((s) => signups.indexOf(s) < 5).map((s) => s.id);
    expect(
      (await stores.optin.page(list.id, 'confirmed', undefined, 100)).map((row) => row.id),
    ).toEqual(confirmedIds);
    expect(
      (await stores.optin.page(list.id, 'confirmed', confirmedIds[1], 2)).map((row) => row.id),
    ).toEqual(confirmedIds.slice(2, 4));
    expect(await stores.optin.page(list.id, 'expired', undefined, 100)).toEqual([]);
  });

  it('appends ledger entries as given and returns a trail oldest first', async () => {
    const { stores } = ctx();
    const list = aList(newId('app', Date.now()));
    const number = '+4915112345678';
    const entries = [
      anEntry(list, number, 'reply_received', {
        at: NOW + 5,
        channel: 'sms',
        text: 'YES',
        textSha256: 'ab'.repeat(32),
        ip: null,
        userAgent: null,
        details: { keyword: 'YES', nested: { a: [1, 2] } },
      }),
      anEntry(list, number, 'message_sent', {
        at: NOW + 1,
        channel: 'system',
        consentText: null,
        consentTextVersion: null,
        source: null,
      }),
    ];
    await stores.optin.appendLedger(entries);
    await stores.optin.appendLedger([]);
    await stores.optin.appendLedger([anEntry(list, '+4915100000000', 'help_sent')]);
    const trail = await stores.optin.ledgerFor(list.id, number);
    expect(trail.map(({ id: _id, ...rest }) => rest)).toEqual(entries);
  });

  it('refuses to rewrite or delete consent evidence, even through raw SQL', async () => {
    const { stores, query } = ctx();
    const list = aList(newId('app', Date.now()));
    const number = '+14155550111';
    await stores.optin.appendLedger([anEntry(list, number, 'confirmed', { at: NOW })]);
    await expect(
      query(`UPDATE optin_consent_ledger SET type = 'unsubscribed' WHERE list_id = '${list.id}'`),
    ).rejects.toThrow(/append-only/);
    await expect(
      query(`DELETE FROM optin_consent_ledger WHERE list_id = '${list.id}'`),
    ).rejects.toThrow(/append-only/);
    expect(await stores.optin.ledgerFor(list.id, number)).toMatchObject([
      { type: 'confirmed', at: NOW },
    ]);
  });

  it('purges only entries older than the cutoff, and the ledger is append-only again right after', async () => {
    const { stores, query, queryNumber } = ctx();
    const list = aList(newId('app', Date.now()));
    const number = '+14155550222';
    await stores.optin.appendLedger(
      [1000, 2000, 3000].map((at) => anEntry(list, number, 'requested', { at })),
    );
    const older = await queryNumber('SELECT count(*) FROM optin_consent_ledger WHERE at < 2500');
    expect(await stores.optin.purgeLedgerBefore(2500)).toBe(older);
    expect((await stores.optin.ledgerFor(list.id, number)).map((e) => e.at)).toEqual([3000]);
    expect(await queryNumber('SELECT purge_before FROM optin_ledger_retention WHERE id = 1')).toBe(
      0,
    );
    await expect(
      query(`DELETE FROM optin_consent_ledger WHERE list_id = '${list.id}'`),
    ).rejects.toThrow(/append-only/);
    expect(await stores.optin.ledgerFor(list.id, number)).toHaveLength(1);
  });

  it('concurrent purges delete each old entry once and fail none', async () => {
    const { stores, queryNumber } = ctx();
    const list = aList(newId('app', Date.now()));
    await stores.optin.appendLedger(
      Array.from({ length: 30 }, (_, i) =>
        anEntry(list, `+1415555${String(3000 + i)}`, 'requested', { at: 10_000 + i }),
      ),
    );
    const older = await queryNumber('SELECT count(*) FROM optin_consent_ledger WHERE at < 20000');
    const deleted = await times(4, () => stores.optin.purgeLedgerBefore(20_000));
    expect(deleted.reduce((sum, n) => sum + n, 0)).toBe(older);
    expect(await queryNumber('SELECT count(*) FROM optin_consent_ledger WHERE at < 20000')).toBe(0);
  });
}
