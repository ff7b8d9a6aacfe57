import type { Clock } from '../platform/clock.js';
import { DomainError, type DomainErrorOptions, type Reason } from '../platform/errors.js';
import type { EventRecord, EventRecorder } from './events.js';

/** What a failure record says besides its time, kind and reason. */
export type FailureContext = Omit<EventRecord, 'at' | 'kind' | 'reason'>;

export interface FailureRecorder {
  /** Records the failure with its rule and figures, then throws it as a DomainError. */
  fail: (reason: Reason, event: FailureContext, options?: DomainErrorOptions) => Promise<never>;
  /** Runs a guard step; a refusal is recorded as a failure with its rule and figures, then rethrown. */
  guarded: (step: () => Promise<void>, event: FailureContext) => Promise<void>;
}

/** Every failure a service answers is recorded first: the record is what the abuse reports read. */
export function createFailureRecorder(events: EventRecorder, clock: Clock): FailureRecorder {
  async function fail(
    reason: Reason,
    event: FailureContext,
    options?: DomainErrorOptions,
  ): Promise<never> {
    const details =
      options?.figures || options?.details ? { ...options.details, ...options.figures } : undefined;
    await events.record({
      ...event,
      at: clock.now(),
      kind: 'failure',
      reason,
      rule: options?.rule,
      details,
    });
    throw new DomainError(reason, options);
  }
  return {
    fail,
    guarded: async (step, event) => {
      try {
        await step();
      } catch (error) {
        if (!(error instanceof DomainError)) throw error;
        await fail(error.reason, event, {
          details: error.details,
          retryAfterSeconds: error.retryAfterSeconds,
          rule: error.rule,
          figures: error.figures,
        });
      }
    },
  };
}
