import type { Channel, DeliveryRecord } from '../delivery/delivery.store.js';
import type { EventRecord } from '../events/events.js';

export type VerificationStatus = 'pending' | 'approved' | 'canceled' | 'locked';

export interface VerificationRecord {
  id: string;
  app: string;
  to: string;
  country: string | null;
  requestedChannel: string;
  channel: Channel;
  status: VerificationStatus;
  purpose: string | null;
  locale: string;
  codeLength: number;
  attempts: number;
  maxAttempts: number;
  sends: number;
  maxSends: number;
  lastSentAt: number | null;
  createdAt: number;
  expiresAt: number;
  approvedAt: number | null;
  approvedChannel: string | null;
  canceledAt: number | null;
  clientIp: string | null;
  endUserIp: string | null;
  endUserAgent: string | null;
  endUserDeviceId: string | null;
  /** serializeTransaction() of the transaction the codes are bound to, or null. */
  transaction: string | null;
}

export type SendSlot =
  | { ok: true; sends: number }
  | { ok: false; why: 'not_pending' | 'expired' | 'cooldown' | 'max_sends'; retryAt?: number };

/** A verification with every one of its deliveries, oldest first (what a check matches the code against). */
export interface VerificationWithDeliveries {
  verification: VerificationRecord;
  deliveries: DeliveryRecord[];
}

/** A check attempt taken by takeAttempt: the new attempt count and the status it left. */
export interface TakenAttempt {
  attempts: number;
  status: VerificationStatus;
}

/**
 * Storage of verifications and their deliveries. Every state change is one guarded statement
 * (`UPDATE … WHERE <guard> RETURNING`), so its contract holds under concurrent callers and across
 * instances sharing a database, with no read-modify-write in JavaScript.
 *
 * Methods taking an `event` append it to the event record (events/events.ts) in the same atomic
 * write as their change: both happen or neither does, in one round trip on PostgreSQL. The caller
 * tells its EventRecorder with `counted()` (metrics) instead of recording it again.
 */
export interface VerificationStore {
  /** Inserts a pending verification together with its first delivery (and appends `started`), all or nothing. */
  create(
    verification: VerificationRecord,
    firstDelivery: DeliveryRecord,
    started?: EventRecord,
  ): Promise<void>;
  /** The verification with this id belonging to this app; another app's id is not found. */
  findById(app: string, id: string): Promise<VerificationRecord | undefined>;
  /** findById with the verification's deliveries (oldest first), in one read. */
  findWithDeliveries(app: string, id: string): Promise<VerificationWithDeliveries | undefined>;
  /** The newest verification of this number for this app that is pending and unexpired at `now`. */
  findNewestPending(app: string, to: string, now: number): Promise<VerificationRecord | undefined>;
  listDeliveries(verificationId: string): Promise<DeliveryRecord[]>;
  /**
   * Takes one check attempt and applies its outcome in the same guarded write. Iff the verification
   * is pending, unexpired at `now` and below its attempt limit, increments `attempts` and:
   * - with `approve` (the code matched): pending → approved by that channel, appending `approve.event`;
   * - without (it did not): pending → locked when that was its last attempt.
   * Under N concurrent callers at most `maxAttempts - attempts` take an attempt, at most one
   * approves, and an approved verification takes no more; the others receive undefined.
   */
  takeAttempt(
    id: string,
    now: number,
    approve?: { channel: Channel; event?: EventRecord },
  ): Promise<TakenAttempt | undefined>;
  /** pending → canceled for this app's verification (appending `event` iff so); true iff this call canceled it. */
  cancelPending(app: string, id: string, now: number, event?: EventRecord): Promise<boolean>;
  /**
   * Takes one send slot: increments `sends` and sets `lastSentAt` iff the verification is pending,
   * unexpired, below `maxSends` and its last send is at least `cooldownMs` old.
   */
  reserveSend(id: string, now: number, cooldownMs: number): Promise<SendSlot>;
  addDelivery(delivery: DeliveryRecord): Promise<void>;
  /** Records what the provider said about a delivery (and appends `event`, together). */
  completeDelivery(
    id: string,
    patch: Pick<
      DeliveryRecord,
      'status' | 'providerMessageId' | 'errorCode' | 'errorMessage' | 'updatedAt'
    >,
    event?: EventRecord,
  ): Promise<void>;
}
