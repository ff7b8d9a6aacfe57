import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Clock } from '../platform/clock.js';
import type { SmsProvider } from './provider.js';

export interface LogProviderOptions {
  outboxPath: string;
  clock: Clock;
  /** Also print each message on stdout (what a developer watching the console expects). */
  stdout: boolean;
}

/**
 * The development gateway: appends one JSON line per message to the outbox file and prints it.
 * Showing the message, code included, is its whole purpose; it is refused in production.
 * Appends are synchronous so a reader of the outbox sees the message as soon as the API answers.
 */
export function createLogSmsProvider(options: LogProviderOptions): SmsProvider {
  mkdirSync(dirname(options.outboxPath), { recursive: true });
  let sequence = 0;
  return {
    name: 'log',
    send(message) {
      const time = new Date(options.clock.now()).toISOString();
      const line = JSON.stringify({ time, channel: 'sms', to: message.to, body: message.body, verificationId: message.verificationId });
      appendFileSync(options.outboxPath, `${line}\n`);
      if (options.stdout) process.stdout.write(`[outbox] ${line}\n`);
      sequence += 1;
      return Promise.resolve({ status: 'sent', providerMessageId: `log-${sequence}` });
    },
  };
}
