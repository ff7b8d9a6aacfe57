import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogSmsProvider } from '../../src/delivery/log.provider.js';
import { createOutboxReader } from './outbox.js';

const clock = { now: () => Date.UTC(2026, 0, 1) };

/**
 * The flow scenario reads codes back from the log provider's outbox while the server appends to
 * it: a wrong read would show as incorrect codes and be blamed on the service.
 */
describe('bench outbox reader', () => {
  let dir = '';
  beforeEach(() => void (dir = mkdtempSync(join(tmpdir(), 'otp-outbox-test-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('finds each verification’s code in what the log provider appended after it was opened, once', async () => {
    const path = join(dir, 'outbox.jsonl');
    const sms = createLogSmsProvider({ outboxPath: path, clock, stdout: false });
    await sms.send({
      to: '+33612345678',
      body: 'bench-abc: your verification code is 111111. It expires in 10 minutes.',
      verificationId: 'ver_before',
    });
    const reader = createOutboxReader(path);
    await sms.send({
      to: '+33612345679',
      body: 'bench-abc: your verification code is 482913. It expires in 10 minutes.',
      verificationId: 'ver_a',
    });
    await sms.send({
      to: '+33612345670',
      body: '@example.com #070707\nbench-abc: code 070707',
      verificationId: 'ver_b',
    });
    expect(reader.take('ver_a')).toBe('482913');
    expect(reader.take('ver_b')).toBe('070707');
    expect(reader.take('ver_a')).toBeUndefined();
    expect(reader.take('ver_before')).toBeUndefined();
    reader.close();
  });

  it('waits for the rest of a line the provider is still writing', () => {
    const path = join(dir, 'outbox.jsonl');
    appendFileSync(path, '');
    const reader = createOutboxReader(path);
    appendFileSync(path, '{"verificationId":"ver_c","body":"code is 12');
    expect(reader.take('ver_c')).toBeUndefined();
    appendFileSync(path, '3456."}\n');
    expect(reader.take('ver_c')).toBe('123456');
    reader.close();
  });
});
