/** Storage of the JWT signing keys (tokens.ts signs with the newest, publishes all that may still verify). */
export interface SigningKeyRecord {
  kid: string;
  alg: string;
  privateJwk: string;
  publicJwk: string;
  createdAt: number;
  retiredAt: number | null;
}

/** Persists signing keys so every instance and every restart signs and publishes the same ones. */
export interface SigningKeyStore {
  /** Keys not retired, or retired after `retiredAfter` (their tokens may still be valid). Newest first. */
  listPublishable(retiredAfter: number): Promise<SigningKeyRecord[]>;
  insert(key: SigningKeyRecord): Promise<void>;
  /** Marks every key but `kid` retired at `now`. */
  retireAllExcept(kid: string, now: number): Promise<void>;
}
