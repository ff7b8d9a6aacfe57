import { describe, expect, it } from 'vitest';
import { renderVerificationMessage, resolveLocale } from '../../src/verification/messages.js';
import { createTestApp, startVerification } from '../helpers/test-app.js';

describe('verification messages', () => {
  it.each([
    ['en', 'Acme: your verification code is 123456. It expires in 10 minutes.'],
    ['fr', 'Acme : votre code de vérification est 123456. Il expire dans 10 minutes.'],
    ['es', 'Acme: tu código de verificación es 123456. Caduca en 10 minutos.'],
    ['de', 'Acme: Ihr Bestätigungscode lautet 123456. Er läuft in 10 Minuten ab.'],
    ['uk', 'Acme: ваш код підтвердження 123456. Він дійсний 10 хвилин.'],
  ] as const)('says brand, code and validity in %s', (locale, expected) => {
    expect(
      renderVerificationMessage({ locale, brand: 'Acme', code: '123456', ttlSeconds: 600 }),
    ).toBe(expected);
  });

  it('uses plural forms (uk: 5 хвилин, 2 хвилини, 1 хвилину)', () => {
    expect(
      renderVerificationMessage({ locale: 'uk', brand: 'A', code: '1', ttlSeconds: 300 }),
    ).toContain('5 хвилин.');
    expect(
      renderVerificationMessage({ locale: 'en', brand: 'A', code: '1', ttlSeconds: 60 }),
    ).toContain('1 minute.');
  });

  it('puts an Android app hash on a line of its own, before the WebOTP line that must stay last', () => {
    const base = {
      locale: 'en',
      brand: 'Acme',
      code: '123456',
      ttlSeconds: 600,
      appHash: 'FA+9qCX9VSu',
    } as const;
    expect(renderVerificationMessage(base)).toBe(
      'Acme: your verification code is 123456. It expires in 10 minutes.\n\nFA+9qCX9VSu',
    );
    expect(
      renderVerificationMessage({ ...base, webOtpDomain: 'acme.example' })
        .split('\n')
        .slice(-3),
    ).toEqual(['FA+9qCX9VSu', '', '@acme.example #123456']);
  });

  it('resolves region tags and falls back to English', () => {
    expect(resolveLocale('fr-CA')).toBe('fr');
    expect(resolveLocale('pt-BR')).toBe('en');
    expect(resolveLocale(undefined)).toBe('en');
  });

  it('ends with the WebOTP line when the app has a domain, and honours brand and code length', async () => {
    const t = await createTestApp();
    try {
      const put = await t.call('PUT', '/v1/admin/apps/default', {
        body: { brand: 'Acme Bank', codeLength: 8, webOtpDomain: 'acme.example' },
      });
      expect(put.status).toBe(200);
      const v = await startVerification(t);
      const body = t.outbox().at(-1)!.body;
      expect(body).toMatch(
        /^Acme Bank: your verification code is (\d{8})\. It expires in 10 minutes\.\n\n@acme\.example #\1$/,
      );
      expect(v).toMatchObject({ codeLength: 8 });
    } finally {
      t.close();
    }
  });
});
