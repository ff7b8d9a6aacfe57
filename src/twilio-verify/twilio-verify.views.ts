import type { AppSettings, AppSettingsPatch } from '../admin/admin.store.js';
import type { Transaction, TransactionInput } from '../verification/transaction.js';
import type {
  CheckedVerification,
  StartInput,
  VerificationView,
} from '../verification/verification.service.js';
import { invalidParameter } from './twilio-verify.errors.js';
import { deliverySid, verificationSid } from '../platform/twilio-sids.js';
import type { Channel } from '../delivery/delivery.store.js';

/**
 * Pure mapping between Twilio Verify v2's resources and the service's own: form fields to service
 * inputs, views to Twilio's JSON. No I/O; the router hands everything in.
 */

/** What every answer needs besides the resource: the Account sid, the absolute base of `url`s. */
export interface ViewContext {
  accountSid: string;
  /** `https://host[:port][/prefix]`, without a trailing slash. */
  baseUrl: string;
}

export type TwilioChannel = 'sms' | 'call';
export type TwilioStatus = 'pending' | 'approved' | 'canceled' | 'max_attempts_reached' | 'expired';

/** ISO 8601 in UTC to the second, as Twilio writes dates. */
export function twilioDate(value: number | string): string {
  return new Date(value).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export const twilioChannel = (channel: Channel): TwilioChannel =>
  channel === 'flashcall' ? 'call' : 'sms';

export function twilioStatus(status: VerificationView['status']): TwilioStatus {
  return status === 'max_attempts_exceeded' ? 'max_attempts_reached' : status;
}

const bool = (value: 'true' | 'false'): boolean => value === 'true';

/** A Service's form fields as app settings (FriendlyName is the brand messages show). */
export function appSettingsOf(fields: {
  FriendlyName?: string | undefined;
  CodeLength?: string | undefined;
  CustomCodeEnabled?: 'true' | 'false' | undefined;
}): AppSettingsPatch {
  const patch: AppSettingsPatch = {};
  if (fields.FriendlyName !== undefined) patch.brand = fields.FriendlyName;
  if (fields.CodeLength !== undefined) patch.codeLength = Number(fields.CodeLength);
  if (fields.CustomCodeEnabled !== undefined) patch.customCodes = bool(fields.CustomCodeEnabled);
  return patch;
}

/**
 * The app name for a new Service: its FriendlyName in lower case, runs of anything but letters and
 * digits as one `-` (an app name is `[a-z0-9][a-z0-9_-]{0,62}`); `service` when nothing is left.
 */
export function appNameFor(friendlyName: string): string {
  const slug = friendlyName
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40)
    .replace(/-+$/, '');
  return slug === '' ? 'service' : slug;
}

export interface TwilioService {
  sid: string;
  account_sid: string;
  friendly_name: string;
  code_length: number;
  lookup_enabled: boolean;
  psd2_enabled: boolean;
  skip_sms_to_landlines: boolean;
  dtmf_input_required: boolean;
  tts_name: null;
  do_not_share_warning_enabled: boolean;
  custom_code_enabled: boolean;
  date_created: string;
  date_updated: string;
  url: string;
  links: { verifications: string; verification_checks: string };
}

export const serviceUrl = (ctx: ViewContext, sid: string): string =>
  `${ctx.baseUrl}/v2/Services/${sid}`;

/** An app as a Service. The fixed fields say what this service does (see the routes' `only` values). */
export function serviceView(
  app: AppSettings & { twilioServiceSid: string },
  ctx: ViewContext,
  defaultCodeLength: number,
): TwilioService {
  const url = serviceUrl(ctx, app.twilioServiceSid);
  return {
    sid: app.twilioServiceSid,
    account_sid: ctx.accountSid,
    friendly_name: app.brand ?? app.name,
    code_length: app.codeLength ?? defaultCodeLength,
    lookup_enabled: false,
    psd2_enabled: true,
    skip_sms_to_landlines: true,
    dtmf_input_required: false,
    tts_name: null,
    do_not_share_warning_enabled: false,
    custom_code_enabled: app.customCodes,
    date_created: twilioDate(app.createdAt),
    date_updated: twilioDate(app.updatedAt),
    url,
    links: {
      verifications: `${url}/Verifications`,
      verification_checks: `${url}/VerificationCheck`,
    },
  };
}

export interface PageMeta {
  page: number;
  page_size: number;
  first_page_url: string;
  previous_page_url: string | null;
  next_page_url: string | null;
  url: string;
  key: 'services';
}

/** Twilio's list `meta`: absolute URLs of this, the first, the previous and the next page. */
export function pageMeta(
  ctx: ViewContext,
  page: number,
  pageSize: number,
  hasNext: boolean,
): PageMeta {
  const at = (n: number): string => `${ctx.baseUrl}/v2/Services?PageSize=${pageSize}&Page=${n}`;
  return {
    page,
    page_size: pageSize,
    first_page_url: at(0),
    previous_page_url: page > 0 ? at(page - 1) : null,
    next_page_url: hasNext ? at(page + 1) : null,
    url: at(page),
    key: 'services',
  };
}

/** Currency symbols read as ISO 4217 (only unambiguous enough ones: `$` is taken as USD). */
const SYMBOLS: Record<string, string> = { '€': 'EUR', '£': 'GBP', $: 'USD' };
const AMOUNT =
  /^(?:([A-Za-z]{3}) ?|([€£$]) ?)?([0-9]+(?:[.,][0-9]+)?)(?: ?([€£$])| ?([A-Za-z]{3}))?$/;

/**
 * Twilio's `Amount` (free text such as `€39.99`) as an amount and a currency: `EUR 39.99`,
 * `39.99 EUR`, `€39.99`, `39,99 €`. Undefined without exactly one currency: this service binds
 * the code to a canonical transaction, so an amount must say what it is counted in.
 */
export function parseAmount(text: string): { amount: string; currency: string } | undefined {
  const match = AMOUNT.exec(text.trim().replace(/\s+/g, ' '));
  if (!match) return undefined;
  const [, isoBefore, symbolBefore, digits, symbolAfter, isoAfter] = match;
  const currencies = [
    isoBefore?.toUpperCase(),
    symbolBefore && SYMBOLS[symbolBefore],
    symbolAfter && SYMBOLS[symbolAfter],
    isoAfter?.toUpperCase(),
  ].filter((c): c is string => typeof c === 'string' && c !== '');
  if (currencies.length !== 1 || digits === undefined) return undefined;
  return { amount: digits.replace(',', '.'), currency: currencies[0]! };
}

/** A canonical transaction as Twilio's `amount` field shows it (as the message does: `EUR 39.99`). */
export const formatAmount = (transaction: Transaction): string =>
  `${transaction.currency} ${transaction.amount}`;

/** `Amount` and `Payee` as a transaction: both or neither. Throws 60200 naming the one at fault. */
export function transactionOf(fields: {
  Amount?: string | undefined;
  Payee?: string | undefined;
}): TransactionInput | undefined {
  if (fields.Amount === undefined && fields.Payee === undefined) return undefined;
  if (fields.Payee === undefined) throw invalidParameter('Payee');
  const amount = fields.Amount === undefined ? undefined : parseAmount(fields.Amount);
  if (!amount) throw invalidParameter('Amount');
  return { ...amount, payee: fields.Payee };
}

export interface StartFields {
  To: string;
  Channel: 'sms' | 'call' | 'auto';
  Locale?: string | undefined;
  CustomFriendlyName?: string | undefined;
  CustomCode?: string | undefined;
  Amount?: string | undefined;
  Payee?: string | undefined;
  AppHash?: string | undefined;
  DeviceIp?: string | undefined;
  RiskCheck?: 'enable' | undefined;
}

/** A start's form as the verification service's input (`call` is a flash call). */
export function startInputOf(fields: StartFields): StartInput {
  return {
    to: fields.To,
    channel: fields.Channel === 'call' ? 'flashcall' : fields.Channel,
    locale: fields.Locale,
    brand: fields.CustomFriendlyName,
    code: fields.CustomCode,
    transaction: transactionOf(fields),
    appHash: fields.AppHash,
    signals: fields.DeviceIp === undefined ? undefined : { ip: fields.DeviceIp },
  };
}

export interface TwilioVerification {
  sid: string;
  service_sid: string;
  account_sid: string;
  to: string;
  channel: TwilioChannel;
  status: TwilioStatus;
  valid: boolean;
  lookup: Record<string, never>;
  amount: string | null;
  payee: string | null;
  send_code_attempts: { attempt_sid: string; channel: TwilioChannel; time: string }[];
  date_created: string;
  date_updated: string;
  sna: null;
  url: string;
}

export function verificationView(
  v: VerificationView,
  serviceSid: string,
  ctx: ViewContext,
): TwilioVerification {
  const sid = verificationSid(v.id);
  const status = twilioStatus(v.status);
  const times = [v.createdAt, v.approvedAt, ...v.deliveries.map((d) => d.createdAt)]
    .filter((t): t is string => t !== null)
    .map((t) => Date.parse(t));
  return {
    sid,
    service_sid: serviceSid,
    account_sid: ctx.accountSid,
    to: v.to,
    channel: twilioChannel(v.channel),
    status,
    valid: status === 'approved',
    lookup: {},
    amount: v.transaction === null ? null : formatAmount(v.transaction),
    payee: v.transaction?.payee ?? null,
    send_code_attempts: v.deliveries.map((d) => ({
      attempt_sid: deliverySid(d.id),
      channel: twilioChannel(d.channel),
      time: twilioDate(d.createdAt),
    })),
    date_created: twilioDate(v.createdAt),
    date_updated: twilioDate(Math.max(...times)),
    sna: null,
    url: `${serviceUrl(ctx, serviceSid)}/Verifications/${sid}`,
  };
}

export interface TwilioVerificationCheck {
  sid: string;
  service_sid: string;
  account_sid: string;
  to: string;
  channel: TwilioChannel;
  status: TwilioStatus;
  valid: boolean;
  amount: string | null;
  payee: string | null;
  date_created: string;
  date_updated: string;
  sna_attempts_error_codes: unknown[];
}

/** A check's answer: `approved` for the right code, `pending` (or `max_attempts_reached` on the last attempt) for a wrong one. */
export function checkView(
  v: CheckedVerification,
  outcome: { status: TwilioStatus; channel: Channel; at: number },
  serviceSid: string,
  ctx: ViewContext,
): TwilioVerificationCheck {
  return {
    sid: verificationSid(v.id),
    service_sid: serviceSid,
    account_sid: ctx.accountSid,
    to: v.to,
    channel: twilioChannel(outcome.channel),
    status: outcome.status,
    valid: outcome.status === 'approved',
    amount: v.transaction === null ? null : formatAmount(v.transaction),
    payee: v.transaction?.payee ?? null,
    date_created: twilioDate(v.createdAt),
    date_updated: twilioDate(outcome.at),
    sna_attempts_error_codes: [],
  };
}
