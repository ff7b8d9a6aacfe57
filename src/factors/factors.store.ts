export type FactorStatus = 'unverified' | 'verified';

export interface FactorRecord {
  id: string;
  app: string;
  user: string;
  type: 'totp';
  status: FactorStatus;
  label: string;
  issuer: string;
  /** SecretBox.seal() of the raw secret, with the factor id as associated data. */
  secretSealed: string;
  /** The last accepted RFC 6238 time step; codes of this step or earlier are refused. */
  lastStep: number | null;
  /** Failed attempts since the last success or lockout. */
  attempts: number;
  maxAttempts: number;
  lockedUntil: number | null;
  createdAt: number;
  verifiedAt: number | null;
  lastUsedAt: number | null;
}

/**
 * Storage of TOTP factors and their recovery codes. Every state change is one guarded statement
 * (or one synchronous SQLite transaction), so each contract below holds under concurrent callers and
 * across instances sharing a database; nothing is read, changed in JavaScript and written back.
 */
export interface FactorStore {
  /**
   * Inserts a factor iff its user has fewer than `maxPerUser` factors in this app, first deleting
   * the user's unverified factors created before `staleBefore`. True iff inserted.
   */
  createIfBelowLimit(
    factor: FactorRecord,
    maxPerUser: number,
    staleBefore: number,
  ): Promise<boolean>;
  /** This app's factor with this id; another app's id is not found. */
  findById(app: string, id: string): Promise<FactorRecord | undefined>;
  /** This app's factors of a user, oldest first. */
  listByUser(app: string, user: string): Promise<FactorRecord[]>;
  /**
   * Takes one attempt: increments `attempts` iff the factor is not locked at `now` and is below its
   * limit. Under N concurrent callers at most `maxAttempts - attempts` receive the new count; the
   * others receive undefined.
   */
  reserveAttempt(id: string, now: number): Promise<number | undefined>;
  /** Locks the factor until `until` (and restarts the count) iff every attempt has been used. */
  lockIfExhausted(id: string, until: number): Promise<void>;
  /**
   * unverified → verified, accepting `step` and storing the recovery code hashes, iff the factor is
   * unverified and `step` is later than any accepted step. Exactly one concurrent caller gets true.
   */
  activate(
    id: string,
    step: number,
    now: number,
    recoveryCodeHashes: readonly string[],
  ): Promise<boolean>;
  /**
   * Accepts a code of time step `step` on a verified factor iff no code of this step or a later one
   * was accepted before (`UPDATE … WHERE last_step IS NULL OR last_step < step`), and restarts the
   * attempt count. Under any number of concurrent callers with the same step exactly one gets true.
   */
  acceptStep(id: string, step: number, now: number): Promise<boolean>;
  /**
   * Marks an unused recovery code of the factor used and restarts the factor's attempt count.
   * Exactly one concurrent caller presenting the same code gets true.
   */
  useRecoveryCode(factorId: string, codeHash: string, now: number): Promise<boolean>;
  countUnusedRecoveryCodes(factorId: string): Promise<number>;
  /** Replaces every recovery code of a verified factor, atomically. False when the factor is gone or unverified. */
  replaceRecoveryCodes(
    factorId: string,
    codeHashes: readonly string[],
    now: number,
  ): Promise<boolean>;
  /** Deletes this app's factor and its recovery codes; true iff this call deleted it. */
  delete(app: string, id: string): Promise<boolean>;
  /** Ids and sealed secrets of factors not sealed under `kid` (for re-encryption after a key rotation). */
  listSealedNotUnder(kid: string, limit: number): Promise<{ id: string; secretSealed: string }[]>;
  /** Replaces a sealed secret iff it is still `previous` (compare-and-set). */
  replaceSealed(id: string, previous: string, next: string): Promise<boolean>;
}
