/**
 * A complete production configuration: every variable production requires, set to acceptable
 * values. Tests about one refusal spread it and remove or spoil the variable under test.
 */
export const PRODUCTION_ENV: Record<string, string> = {
  NODE_ENV: 'production',
  OTP_PEPPER: 'p'.repeat(40),
  SMS_PROVIDER: 'http',
  SMS_HTTP_URL: 'https://sms.example/send',
  SMS_HTTP_SECRET: 's'.repeat(32),
  FACTOR_ENCRYPTION_KEYS: `k1:${Buffer.alloc(32, 7).toString('base64')}`,
  REPORTS_ENCRYPTION_KEY: 'r'.repeat(40),
};

/** PRODUCTION_ENV without the named variables. */
export function productionEnvWithout(...names: string[]): Record<string, string> {
  return Object.fromEntries(Object.entries(PRODUCTION_ENV).filter(([name]) => !names.includes(name)));
}
