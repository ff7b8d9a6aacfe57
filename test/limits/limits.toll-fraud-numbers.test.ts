// Exploitable without these rules: International Revenue Share Fraud. Codes sent to premium-rate,
// shared-cost, UAN or personal numbers, or to high-risk destinations, earn the attacker money per
// message; pagers and landlines cannot show an SMS code at all; an app may not want VoIP numbers.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestApp, expectProblem, type TestApp } from '../helpers/test-app.js';
import { failures, setLimits, start } from './limits-helpers.js';

describe('number types and destinations', () => {
  let t: TestApp;
  let key: string;
  beforeEach(async () => {
    t = await createTestApp();
    key = await t.createKey('acme', ['verify']);
  });
  afterEach(() => t.close());

  it.each([
    ['+449098765432', 'PREMIUM_RATE'],
    ['+445512345678', 'UAN'],
    ['+447640123456', 'PAGER'],
    ['+447012345678', 'PERSONAL_NUMBER'],
  ])('refuses %s (%s) with unsupported_number_type and sends nothing', async (to, type) => {
    await expectProblem(
      await start(t, key, to, { ip: '203.0.113.1' }),
      422,
      'unsupported_number_type',
    );
    expect(t.outbox()).toHaveLength(0);
    expect(failures(t).at(-1)).toMatchObject({
      reason: 'unsupported_number_type',
      rule: 'number_type',
      details: { numberType: type },
    });
  });

  it('refuses SMS to a landline, and VoIP only where the app asks', async () => {
    await expectProblem(
      await start(t, key, '+441212345678', { ip: '203.0.113.1' }),
      422,
      'unsupported_number_type',
    );
    expect(failures(t).at(-1)).toMatchObject({
      rule: 'number_type:landline',
      details: { numberType: 'FIXED_LINE', channel: 'auto' },
    });

    expect((await start(t, key, '+445612345678', { ip: '203.0.113.1' })).status).toBe(201);
    await setLimits(t, 'acme', { blockVoip: true });
    await expectProblem(
      await start(t, key, '+445612345679', { ip: '203.0.113.1' }),
      422,
      'unsupported_number_type',
    );
    expect(failures(t).at(-1)).toMatchObject({ rule: 'number_type:voip' });
    expect((await start(t, key, '+447400123456', { ip: '203.0.113.1' })).status).toBe(201);
  });

  it('denies the shipped high-risk countries by default; an app can replace the deny list or allow only some countries', async () => {
    await expectProblem(await start(t, key, '+5352123456', { ip: '203.0.113.1' }), 403, 'blocked');
    expect(failures(t).at(-1)).toMatchObject({
      reason: 'blocked',
      rule: 'geo:denied',
      details: { country: 'CU' },
    });

    await setLimits(t, 'acme', { denyCountries: [] });
    expect((await start(t, key, '+5352123456', { ip: '203.0.113.1' })).status).toBe(201);

    await setLimits(t, 'acme', { allowCountries: ['FR'] });
    expect((await start(t, key, '+33612345678', { ip: '203.0.113.1' })).status).toBe(201);
    await expectProblem(
      await start(t, key, '+447400123456', { ip: '203.0.113.1' }),
      403,
      'blocked',
    );
    expect(failures(t).at(-1)).toMatchObject({
      rule: 'geo:not_allowed',
      details: { country: 'GB' },
    });
  });

  it('answers every refusal of a start with the same shape: reason, status and a fixed title, no rule, no figures', async () => {
    await t.call('POST', '/v1/blocklist', {
      body: { kind: 'number', value: '+33612345678', reason: 'test' },
    });
    const bodies = [
      await expectProblem(
        await start(t, key, '+33612345678', { ip: '203.0.113.1' }),
        403,
        'blocked',
      ),
      await expectProblem(
        await start(t, key, '+5352123456', { ip: '203.0.113.1' }),
        403,
        'blocked',
      ),
      await expectProblem(
        await start(t, key, '+449098765432', { ip: '203.0.113.1' }),
        422,
        'unsupported_number_type',
      ),
    ];
    const [byEntry, byCountry] = bodies.map(({ requestId: _id, ...rest }) => rest);
    expect(byEntry).toEqual(byCountry);
    for (const body of bodies)
      expect(Object.keys(body).sort()).toEqual(['reason', 'requestId', 'status', 'title', 'type']);
  });
});
