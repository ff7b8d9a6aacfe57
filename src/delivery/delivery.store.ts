/** The channels a code goes by. */
export type Channel = 'sms' | 'flashcall';

/** Where a message or call stands, as its provider last said. */
export type DeliveryStatus = 'queued' | 'sent' | 'delivered' | 'failed' | 'undelivered';

/** One message or call of a code: its channel, provider, status and the hash of the code it carried. */
export interface DeliveryRecord {
  id: string;
  verificationId: string;
  channel: Channel;
  provider: string;
  status: DeliveryStatus;
  codeHash: string;
  providerMessageId: string | null;
  errorCode: string | null;
  errorMessage: string | null;
  /** Flash calls: the calling number before its code digits (not secret: shown to the client). */
  callerIdPrefix: string | null;
  createdAt: number;
  updatedAt: number;
}

/** A delivery with the verification facts an event record needs. */
export type DeliveryWithVerification = DeliveryRecord & {
  app: string;
  to: string;
  country: string | null;
};

/**
 * Storage of delivery statuses reported by providers. Every transition is one guarded statement,
 * so its contract holds under concurrent callers and across instances sharing the database.
 */
export interface DeliveryStore {
  /** The delivery a provider's message id names, with the verification facts an event record needs. */
  findDeliveryByProviderId(
    provider: string,
    providerMessageId: string,
  ): Promise<DeliveryWithVerification | undefined>;
  /**
   * Applies a delivery status from a callback: queued|sent → any later status, delivered stays
   * delivered. Returns the updated delivery, or undefined when the transition was not allowed
   * (so a replayed or reordered callback changes nothing twice).
   */
  updateDeliveryStatus(
    id: string,
    status: DeliveryStatus,
    error: { code: string; message: string } | null,
    now: number,
  ): Promise<DeliveryRecord | undefined>;
}
