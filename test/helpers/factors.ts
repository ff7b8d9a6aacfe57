import { generate } from 'otplib';
import { expect } from 'vitest';
import type { TestApp } from './test-app.js';

export interface EnrolledFactor {
  id: string;
  user: string;
  status: string;
  secret: string;
  otpauthUri: string;
  qrSvg: string;
  label: string;
  issuer: string;
}

/** The code an authenticator app holding `secret` shows at `atMs` (otplib, RFC 6238 defaults). */
export function appCode(secret: string, atMs: number): Promise<string> {
  return generate({ secret, epoch: Math.floor(atMs / 1000) });
}

export async function enroll(
  t: TestApp,
  body: Record<string, unknown> = { user: 'user_1', type: 'totp' },
  key?: string,
): Promise<EnrolledFactor> {
  const response = await t.call('POST', '/v1/factors', { body, key });
  const text = await response.text();
  expect(response.status, text).toBe(201);
  return JSON.parse(text) as EnrolledFactor;
}

/** Enrols and activates a factor with the code of the current step; returns it with its recovery codes. */
export async function enrollVerified(
  t: TestApp,
  body?: Record<string, unknown>,
  key?: string,
): Promise<EnrolledFactor & { recoveryCodes: string[] }> {
  const factor = await enroll(t, body, key);
  const response = await t.call('POST', `/v1/factors/${factor.id}/verify`, {
    body: { code: await appCode(factor.secret, t.clock.now()) },
    key,
  });
  const text = await response.text();
  expect(response.status, text).toBe(200);
  return { ...factor, ...(JSON.parse(text) as { recoveryCodes: string[]; status: string }) };
}

export const STEP_MS = 30_000;
