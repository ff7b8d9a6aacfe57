import { randomBytes } from 'node:crypto';
import { startServer, type RecordedRequest } from './helpers.js';
import { twilioSignature } from '../../src/delivery/signatures.js';

export const ACCOUNT_SID = `AC${'0123456789abcdef'.repeat(2)}`;
export const AUTH_TOKEN = 'twilio-auth-token-0123456789abcdef';

export interface TwilioCreate {
  resource: 'Messages' | 'Calls';
  params: Record<string, string>;
  sid: string;
  request: RecordedRequest;
}

type Failure = {
  status: number;
  code: number;
  message: string | ((params: Record<string, string>) => string);
};

/**
 * A fake of Twilio's REST API 2010-04-01, as documented: POST form-encoded parameters to
 * /2010-04-01/Accounts/{AccountSid}/Messages.json or Calls.json with HTTP Basic auth
 * (AccountSid:AuthToken); 201 with the created resource as JSON (sid SM…/CA…, status queued);
 * errors as `{ code, message, more_info, status }` with the HTTP status.
 */
export async function startFakeTwilio() {
  const created: TwilioCreate[] = [];
  const failures: Failure[] = [];
  const error = (status: number, code: number, message: string) =>
    JSON.stringify({
      code,
      message,
      more_info: `https://www.twilio.com/docs/errors/${code}`,
      status,
    });

  const fake = await startServer((req, res) => {
    const reply = (status: number, body: string) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(body);
    };
    const match = /^\/2010-04-01\/Accounts\/([^/]+)\/(Messages|Calls)\.json$/.exec(req.url);
    if (req.method !== 'POST' || !match)
      return reply(404, error(404, 20404, 'The requested resource was not found'));
    const expected = `Basic ${Buffer.from(`${ACCOUNT_SID}:${AUTH_TOKEN}`).toString('base64')}`;
    if (req.headers.authorization !== expected || match[1] !== ACCOUNT_SID)
      return reply(401, error(401, 20003, 'Authenticate'));
    if (!String(req.headers['content-type']).startsWith('application/x-www-form-urlencoded')) {
      return reply(
        400,
        error(400, 20001, 'Content-Type must be application/x-www-form-urlencoded'),
      );
    }
    const params = Object.fromEntries(new URLSearchParams(req.body));
    const failure = failures.shift();
    if (failure) {
      const message =
        typeof failure.message === 'string' ? failure.message : failure.message(params);
      return reply(failure.status, error(failure.status, failure.code, message));
    }
    const resource = match[2] as 'Messages' | 'Calls';
    if (!params.To) return reply(400, error(400, 21604, "A 'To' phone number is required."));
    if (!/^\+[1-9]\d{6,14}$/.test(params.To))
      return reply(400, error(400, 21211, `Invalid 'To' Phone Number: ${params.To}`));
    if (resource === 'Messages') {
      if (!params.Body) return reply(400, error(400, 21602, 'Message body is required.'));
      if (!params.From && !params.MessagingServiceSid)
        return reply(400, error(400, 21603, "A 'From' phone number is required."));
    } else {
      if (!params.From) return reply(400, error(400, 21603, "A 'From' phone number is required."));
      if (!params.Url && !params.Twiml && !params.ApplicationSid)
        return reply(400, error(400, 21205, 'Url parameter is required.'));
    }
    const sid = `${resource === 'Messages' ? 'SM' : 'CA'}${randomBytes(16).toString('hex')}`;
    created.push({ resource, params, sid, request: req });
    const uri = `/2010-04-01/Accounts/${ACCOUNT_SID}/${resource}/${sid}.json`;
    return reply(
      201,
      JSON.stringify({
        sid,
        account_sid: ACCOUNT_SID,
        to: params.To,
        from: params.From ?? null,
        status: 'queued',
        api_version: '2010-04-01',
        uri,
      }),
    );
  });

  return {
    ...fake,
    created,
    /** The next request(s) fail with this HTTP status and Twilio error code. */
    failNext(status: number, code: number, message: Failure['message'], times = 1) {
      for (let i = 0; i < times; i++) failures.push({ status, code, message });
    },
    /** A status callback as Twilio would POST it for a created resource: form params and X-Twilio-Signature. */
    statusCallback(sid: string, status: string, extra: Record<string, string> = {}) {
      const entry = created.find((c) => c.sid === sid);
      if (!entry?.params.StatusCallback) throw new Error(`no StatusCallback for ${sid}`);
      const params: Record<string, string> =
        entry.resource === 'Messages'
          ? {
              AccountSid: ACCOUNT_SID,
              MessageSid: sid,
              SmsSid: sid,
              MessageStatus: status,
              SmsStatus: status,
              To: entry.params.To ?? '',
              From: entry.params.From ?? '',
              ApiVersion: '2010-04-01',
              ...extra,
            }
          : {
              AccountSid: ACCOUNT_SID,
              CallSid: sid,
              CallStatus: status,
              To: entry.params.To ?? '',
              From: entry.params.From ?? '',
              Direction: 'outbound-api',
              ApiVersion: '2010-04-01',
              ...extra,
            };
      const url = entry.params.StatusCallback;
      return {
        url,
        params,
        body: new URLSearchParams(params).toString(),
        signature: twilioSignature(AUTH_TOKEN, url, params),
      };
    },
  };
}
