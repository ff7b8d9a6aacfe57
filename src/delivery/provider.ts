/** One outgoing text message. */
export interface SmsMessage {
  to: string;
  body: string;
  verificationId: string;
  /** The sender to use instead of the configured one (an opt-in list's number); ignored by a Twilio Messaging Service. */
  from?: string | undefined;
}

/** One flash call: a call from `from` (the number whose last digits are the code) that hangs up at once. */
export interface FlashCall {
  to: string;
  from: string;
  verificationId: string;
}

/**
 * What a provider said about one send. A provider never throws for a delivery failure: it reports it.
 * `transient` marks failures worth retrying (5xx, timeouts, network errors); a 4xx never is.
 */
export type SendResult =
  | { status: 'sent'; providerMessageId?: string | undefined }
  | { status: 'failed'; errorCode: string; errorMessage: string; transient?: boolean | undefined };

/** An SMS gateway. Implementations: log (outbox file), http (generic signed webhook), twilio. */
export interface SmsProvider {
  readonly name: string;
  send(message: SmsMessage): Promise<SendResult>;
}

/** A voice gateway placing flash calls. Implementations: log (outbox file), http, twilio. */
export interface VoiceProvider {
  readonly name: string;
  call(call: FlashCall): Promise<SendResult>;
}

/** The first characters of a body, on one line, for an error text. */
export function bodyExcerpt(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > 80 ? `${line.slice(0, 80)}…` : line;
}

/**
 * Removes a code from a provider's error text before it is stored, returned or recorded: gateways
 * echo what they were sent (Twilio's 21210 names the `From` number, which is a flash call's code).
 * Matches the digits also when spaced or dashed ("12 34 56", "12-34-56").
 */
export function redactCode(text: string, code: string): string {
  if (!/^\d{4,}$/.test(code)) return text;
  return text.replace(new RegExp(code.split('').join('[\\s.-]?'), 'g'), '[code]');
}
