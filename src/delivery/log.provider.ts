import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Clock } from '../platform/clock.js';
import type { SmsProvider, VoiceProvider } from './provider.js';

export interface LogProviderOptions {
  outboxPath: string;
  clock: Clock;
  /** Also print each message on stdout (what a developer watching the console expects). */
  stdout: boolean;
}

function createOutbox(options: LogProviderOptions): (line: Record<string, string>) => void {
  mkdirSync(dirname(options.outboxPath), { recursive: true });
  return function append(fields) {
    const line = JSON.stringify({ time: new Date(options.clock.now()).toISOString(), ...fields });
    appendFileSync(options.outboxPath, `${line}\n`);
    if (options.stdout) process.stdout.write(`[outbox] ${line}\n`);
  };
}

/**
 * The development gateway: appends one JSON line per message to the outbox file and prints it.
 * Showing the message, code included, is its whole purpose; it is refused in production.
 * Appends are synchronous so a reader of the outbox sees the message as soon as the API answers.
 */
export function createLogSmsProvider(options: LogProviderOptions): SmsProvider {
  const append = createOutbox(options);
  let sequence = 0;
  return {
    name: 'log',
    send(message) {
      append({
        channel: 'sms',
        to: message.to,
        body: message.body,
        verificationId: message.verificationId,
        ...(message.from ? { from: message.from } : {}),
      });
      sequence += 1;
      return Promise.resolve({ status: 'sent', providerMessageId: `log-${sequence}` });
    },
  };
}

/** The development voice gateway: a flash call is the outbox line `{time, channel: "flashcall", to, from, verificationId}`. */
export function createLogVoiceProvider(options: LogProviderOptions): VoiceProvider {
  const append = createOutbox(options);
  let sequence = 0;
  return {
    name: 'log',
    call(call) {
      append({
        channel: 'flashcall',
        to: call.to,
        from: call.from,
        verificationId: call.verificationId,
      });
      sequence += 1;
      return Promise.resolve({ status: 'sent', providerMessageId: `log-call-${sequence}` });
    },
  };
}
