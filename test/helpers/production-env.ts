/**
 * A complete production configuration: every variable production requires, set to acceptable
 * values. Tests about one refusal spread it and remove or spoil the variable under test.
 */
export const PRODUCTION_ENV: Record<string, string> = {
  NODE_ENV: 'production',
  OTP_PEPPER: 'Vq3xZ8mK1tR7bN4wY6hJ2cL9pD5sF0gA+e1u',
  SMS_PROVIDER: 'http',
  SMS_HTTP_URL: 'https://sms.example/send',
  SMS_HTTP_SECRET: 's'.repeat(32),
  FACTOR_ENCRYPTION_KEYS: `k1:${Buffer.alloc(32, 7).toString('base64')}`,
  REPORTS_ENCRYPTION_KEY: 'Rk7pW2nQ9vX4cT1mZ8bJ5hL3gF6dS0aY-u2e',
};

/** PRODUCTION_ENV without the named variables. */
export function productionEnvWithout(...names: string[]): Record<string, string> {
  return Object.fromEntries(
    Object.entries(PRODUCTION_ENV).filter(([name]) => !names.includes(name)),
  );
}
