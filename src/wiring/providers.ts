import type { Config } from '../config.js';
import { createHttpSmsProvider, createHttpVoiceProvider } from '../delivery/http.provider.js';
import { createLogSmsProvider, createLogVoiceProvider } from '../delivery/log.provider.js';
import type { SmsProvider, VoiceProvider } from '../delivery/provider.js';
import {
  createTwilioSmsProvider,
  createTwilioVoiceProvider,
  type TwilioOptions,
} from '../delivery/twilio.provider.js';
import type { WebhookSecrets } from '../delivery/webhooks.auth.js';
import type { Clock } from '../platform/clock.js';

/** Where providers post delivery statuses (PUBLIC_BASE_URL + these paths). */
export const WEBHOOK_PATHS = {
  http: '/v1/webhooks/http/status',
  twilio: '/v1/webhooks/twilio/status',
} as const;

/** The secrets provider callbacks are checked with: only those of the providers configured. */
export function webhookSecrets(config: Config): WebhookSecrets {
  const httpSecrets = [
    config.sms.provider === 'http' ? config.sms.secret : undefined,
    config.voice.provider === 'http' ? config.voice.secret : undefined,
  ];
  return {
    httpSecrets: httpSecrets.filter((x): x is string => x !== undefined && x.length > 0),
    twilioAuthToken:
      config.sms.provider === 'twilio' || config.voice.provider === 'twilio'
        ? config.twilio.authToken
        : undefined,
    publicBaseUrl: config.publicBaseUrl,
  };
}

function twilioOptions(config: Config): TwilioOptions {
  return {
    ...config.twilio,
    statusCallbackUrl: config.publicBaseUrl
      ? `${config.publicBaseUrl}${WEBHOOK_PATHS.twilio}`
      : undefined,
  };
}

export function createSmsProvider(config: Config, clock: Clock): SmsProvider {
  const statusCallbackUrl = config.publicBaseUrl
    ? `${config.publicBaseUrl}${WEBHOOK_PATHS.http}`
    : undefined;
  switch (config.sms.provider) {
    case 'http':
      return createHttpSmsProvider({
        url: config.sms.url,
        secret: config.sms.secret,
        timeoutMs: config.sms.timeoutMs,
        clock,
        statusCallbackUrl,
      });
    case 'twilio':
      return createTwilioSmsProvider(twilioOptions(config));
    case 'log':
      return createLogSmsProvider({
        outboxPath: config.sms.outboxPath,
        stdout: config.sms.stdout,
        clock,
      });
  }
}

export function createVoiceProvider(config: Config, clock: Clock): VoiceProvider {
  const statusCallbackUrl = config.publicBaseUrl
    ? `${config.publicBaseUrl}${WEBHOOK_PATHS.http}`
    : undefined;
  switch (config.voice.provider) {
    case 'http':
      return createHttpVoiceProvider({
        url: config.voice.url,
        secret: config.voice.secret,
        timeoutMs: config.voice.timeoutMs,
        clock,
        statusCallbackUrl,
      });
    case 'twilio':
      return createTwilioVoiceProvider(twilioOptions(config));
    case 'log':
      return createLogVoiceProvider({
        outboxPath: config.voice.outboxPath,
        stdout: config.voice.stdout,
        clock,
      });
  }
}
