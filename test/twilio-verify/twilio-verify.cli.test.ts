import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { inheritedEnv } from '../helpers/server-process.js';
import { createTestApp, PEPPER } from '../helpers/test-app.js';
import { listen, sdk } from './sdk.js';

describe('CLI keys create, for Twilio SDKs', () => {
  it('prints the Account sid and API key sid that, with the key, authenticate the SDK against the server', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'otp-cli-twilio-'));
    const sqlitePath = join(dir, 'verify.db');
    // The server's pepper: the Account sid is derived from it, so CLI and server agree on it.
    const env = {
      ...inheritedEnv(),
      SQLITE_PATH: sqlitePath,
      DATA_DIR: dir,
      NODE_ENV: 'development',
      OTP_PEPPER: PEPPER,
    };
    const out = execFileSync(
      'npx',
      ['tsx', 'src/cli.ts', 'keys', 'create', '--app', 'acme', '--scopes', 'verify,admin'],
      { env, encoding: 'utf8' },
    );
    const created = JSON.parse(out) as {
      id: string;
      key: string;
      twilio: { accountSid: string; apiKeySid: string };
    };
    expect(created.twilio.accountSid).toMatch(/^AC[0-9a-f]{32}$/);
    expect(created.twilio.apiKeySid).toMatch(/^SK[0-9a-f]{32}$/);

    const t = await createTestApp({ sqlitePath });
    const server = await listen(t);
    try {
      expect(t.deps.admin.accountSid).toBe(created.twilio.accountSid);
      const byAccount = sdk(server.url, created.twilio.accountSid, created.key).client;
      const services = await byAccount.verify.v2.services.list();
      expect(services.map((s) => s.friendlyName)).toEqual(['acme']);
      const byKey = sdk(
        server.url,
        created.twilio.apiKeySid,
        created.key.split('.')[1]!,
        created.twilio.accountSid,
      ).client;
      const started = await byKey.verify.v2
        .services(services[0]!.sid)
        .verifications.create({ to: '+14155550123', channel: 'sms' });
      expect(started.status).toBe('pending');
    } finally {
      await server.close();
      t.close();
    }
  });
});
