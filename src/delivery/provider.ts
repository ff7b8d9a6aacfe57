/** One outgoing text message. */
export interface SmsMessage {
  to: string;
  body: string;
  verificationId: string;
}

/** What a provider said about one send. A provider never throws for a delivery failure: it reports it. */
export type SendResult =
  | { status: 'sent'; providerMessageId?: string | undefined }
  | { status: 'failed'; errorCode: string; errorMessage: string };

/** An SMS gateway. Implementations: log (outbox file), http (generic signed webhook). */
export interface SmsProvider {
  readonly name: string;
  send(message: SmsMessage): Promise<SendResult>;
}
