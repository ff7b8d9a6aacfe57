/**
 * What Twilio's error codes mean, for the ones a verification's SMS or flash call meets most. Twilio's
 * status callbacks carry an `ErrorCode` and, for SMS, no message: without this a failed delivery read
 * `twilio_30003` with an empty message. Titles as Twilio's error dictionary gives them
 * (https://www.twilio.com/docs/api/errors/<code>); any other code points there.
 */
const TWILIO_ERROR_TITLES: Readonly<Record<string, string>> = {
  '13224': 'Dial: Twilio does not support calling this number or the number is invalid',
  '13225': 'Dial: Forbidden phone number',
  '13227': 'Dial: No international authorization',
  '21211': "Invalid 'To' phone number",
  '21214': "'To' phone number cannot be reached",
  '21215': 'Geo permission configuration is not permitting the call',
  '21408':
    "Permission to send an SMS has not been enabled for the region indicated by the 'To' number",
  '21610': 'Attempt to send to unsubscribed recipient',
  '21612': "The 'To' phone number is not currently reachable via SMS",
  '21614': "'To' number is not a valid mobile number",
  '21635': "'To' number cannot be a landline",
  '30001': 'Queue overflow',
  '30002': 'Account suspended',
  '30003': 'Unreachable destination handset',
  '30004': 'Message blocked',
  '30005': 'Unknown destination handset',
  '30006': 'Landline or unreachable carrier',
  '30007': 'Message filtered by the carrier',
  '30008': 'Unknown error',
  '30009': 'Missing segment',
  '30010': 'Message price exceeds max price',
  '30017': 'Carrier network congestion',
  '30018': 'Destination carrier requires sender ID pre-registration',
  '30022': 'US A2P 10DLC: rate limits exceeded',
  '30023': 'US A2P 10DLC: daily message cap reached',
  '30024': 'Numeric sender ID not provisioned on carrier',
  '30032': 'Toll-free number has not been verified',
  '30034': 'US A2P 10DLC: message from an unregistered number',
  '30410': 'Provider timeout error',
  '30450': 'Message delivery blocked (SMS pumping protection)',
  '31600': 'Busy everywhere',
};

/** The message for a Twilio error: Twilio's own when it sent one, else the dictionary's title, else a link to it. */
export function twilioErrorMessage(code: string, given?: string): string {
  if (given !== undefined && given.trim() !== '') return given.slice(0, 200);
  return (
    TWILIO_ERROR_TITLES[code] ??
    `Twilio error ${code} (https://www.twilio.com/docs/api/errors/${encodeURIComponent(code)})`
  );
}
