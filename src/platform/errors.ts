/**
 * The closed set of reasons a request can fail for. Each maps to one HTTP status and title in
 * http/problem.ts; the compiler checks that table for completeness.
 */
export const REASONS = [
  'invalid_request',
  'malformed_json',
  'unsupported_media_type',
  'payload_too_large',
  'invalid_phone',
  'unauthorized',
  'invalid_signature',
  'forbidden',
  'not_found',
  'method_not_allowed',
  'incorrect_code',
  'max_attempts_exceeded',
  'expired',
  'already_used',
  'canceled',
  'resend_too_soon',
  'channel_unavailable',
  'max_sends_exceeded',
  'rate_limited',
  'blocked',
  'unsupported_number_type',
  'abuse_suspected',
  'conflict',
  'webhook_url_invalid',
  'webhook_url_not_https',
  'webhook_url_private_address',
  'unknown_event_type',
  'factor_not_verified',
  'factor_already_verified',
  'factor_limit_reached',
  'not_ready',
  'storage_unavailable',
  'internal_error',
] as const;

export type Reason = (typeof REASONS)[number];

export interface DomainErrorOptions {
  /** Safe, client-visible details (never a code, a secret or a stack). */
  details?: Record<string, unknown>;
  /** Seconds after which a retry may succeed; becomes Retry-After. */
  retryAfterSeconds?: number;
  /** The rule that fired (e.g. `limit:number:10m`), for the failure record only; never rendered. */
  rule?: string;
  /** The rule's figures (counts, thresholds), for the failure record only; never rendered. */
  figures?: Record<string, unknown>;
}

/** An expected failure with a stable machine-readable reason. */
export class DomainError extends Error {
  readonly reason: Reason;
  readonly details: Record<string, unknown>;
  readonly retryAfterSeconds: number | undefined;
  readonly rule: string | undefined;
  readonly figures: Record<string, unknown> | undefined;

  constructor(reason: Reason, options: DomainErrorOptions = {}) {
    super(reason);
    this.name = 'DomainError';
    this.reason = reason;
    this.details = options.details ?? {};
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.rule = options.rule;
    this.figures = options.figures;
  }
}

export function isDomainError(value: unknown): value is DomainError {
  return value instanceof DomainError;
}
