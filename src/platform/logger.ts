import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

/**
 * Paths that must never reach a log line: credentials, codes, secrets and full numbers.
 * Request bodies are never logged at all; this is the second line of defence.
 */
const REDACT = [
  'req.headers.authorization',
  'headers.authorization',
  'authorization',
  'code',
  '*.code',
  'key',
  '*.key',
  'secret',
  '*.secret',
  'pepper',
  'to',
  '*.to',
  'body',
  '*.body',
];

/**
 * A JSON logger, on stdout unless told. Writes are synchronous: nothing per request is logged at
 * the default level, a line logged just before a crash is not lost, and a stdout nobody reads any
 * more (a log shipper that died) cannot hang the process. With pino's asynchronous default, the
 * flush pino runs at exit retried a write failing with EPIPE forever, so SIGTERM never ended the
 * process (sonic-boom's flushSync retries every error, not only EAGAIN).
 */
export function createLogger(options: { level: string; destination?: DestinationStream }): Logger {
  return pino(
    {
      level: options.level,
      redact: { paths: REDACT, censor: '[redacted]' },
      base: { service: 'otp-verify' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination ?? pino.destination({ dest: 1, sync: true }),
  );
}
