import { createHash } from 'node:crypto';
import { redactCode, type SmsProvider } from '../delivery/provider.js';
import type { EventRecorder } from '../events/events.js';
import {
  createFailureRecorder,
  type FailureContext,
  type FailureRecorder,
} from '../events/failures.js';
import type { Clock } from '../platform/clock.js';
import { DomainError } from '../platform/errors.js';
import { newId } from '../platform/ids.js';
import { generateCode, hashCode, matchCode } from '../verification/codes.js';
import {
  OPEN_GUARD,
  type CheckAttempt,
  type LimitStateSink,
  type VerificationGuard,
} from '../limits/guard.js';
import { parsePhone, type PhoneNumber } from '../platform/phone.js';
import { parseKeyword } from './keywords.js';
import {
  confirmationTemplateProblems,
  renderOptinMessage,
  resolveOptinLocale,
  type OptinLocale,
} from './optin.messages.js';
import type {
  LedgerEntry,
  ListRecord,
  ListTemplates,
  OptinStore,
  StoredLedgerEntry,
  SubscriberRecord,
  SubscriberStatus,
} from './optin.store.js';

/** The caller as the HTTP layer saw it. */
export interface OptinCaller {
  app: string;
  clientIp: string | undefined;
  userAgent: string | undefined;
  onLimitState?: LimitStateSink | undefined;
}

export interface CreateListInput {
  name: string;
  brand: string;
  sender: string;
  confirmationWindowHours?: number | undefined;
  templates?: Record<string, ListTemplates> | undefined;
  helpContact?: string | undefined;
}

export interface ListView {
  id: string;
  name: string;
  brand: string;
  sender: string;
  confirmationWindowHours: number;
  templates: Record<string, ListTemplates>;
  helpContact: string | null;
  createdAt: string;
}

export interface SubscribeInput {
  to: string;
  consentText: string;
  consentVersion?: string | undefined;
  source: string;
  locale?: string | undefined;
  /** The end user's IP and user agent, when a back end calls on their behalf. */
  signals?: { ip?: string | undefined; userAgent?: string | undefined } | undefined;
}

export interface SubscriberView {
  listId: string;
  to: string;
  status: SubscriberStatus;
  locale: string;
  requestedAt: string;
  expiresAt: string;
  confirmedAt: string | null;
  unsubscribedAt: string | null;
}

export interface SubscriberPage {
  items: SubscriberView[];
  nextCursor: string | null;
}

export interface LedgerView {
  id: number;
  at: string;
  type: LedgerEntry['type'];
  channel: LedgerEntry['channel'];
  ip: string | null;
  userAgent: string | null;
  source: string | null;
  consentText: string | null;
  consentTextVersion: string | null;
  text: string | null;
  textSha256: string | null;
  details: Record<string, unknown> | null;
}

export interface ConsentRecord {
  list: ListView;
  subscriber: SubscriberView;
  trail: LedgerView[];
  generatedAt: string;
}

export interface InboundMessage {
  provider: 'log' | 'http' | 'twilio';
  from: string;
  to: string;
  body: string;
  messageId?: string | undefined;
  ip?: string | undefined;
}

export type InboundResult = 'confirmed' | 'unsubscribed' | 'help' | 'ignored';

export interface OptinSettings {
  codeLength: number;
  maxConfirmAttempts: number;
}

export interface OptinServiceDeps {
  store: OptinStore;
  sms: SmsProvider;
  events: EventRecorder;
  clock: Clock;
  pepper: Buffer;
  settings: OptinSettings;
  /** The verification limits and abuse rules: a sign-up form is an SMS-pumping target like any other. */
  guard?: VerificationGuard | undefined;
}

export interface OptinService {
  createList(caller: OptinCaller, input: CreateListInput): Promise<ListView>;
  getList(caller: OptinCaller, listId: string): Promise<ListView>;
  /**
   * Opens a double opt-in sign-up and sends the confirmation request. Returns `pending`, or
   * `confirmed` (nothing sent) when the number already is. Throws not_found, invalid_phone and the
   * limits' refusals (rate_limited, blocked, unsupported_number_type, abuse_suspected).
   */
  subscribe(caller: OptinCaller, listId: string, input: SubscribeInput): Promise<SubscriberView>;
  /** Web confirmation with the code. Throws not_found, expired, already_used, incorrect_code, max_attempts_exceeded, rate_limited. */
  confirm(
    caller: OptinCaller,
    listId: string,
    to: string,
    code: string,
    signals?: SubscribeInput['signals'],
  ): Promise<SubscriberView>;
  /** Unsubscribes one number from one list (no message is sent). Throws not_found. */
  unsubscribe(caller: OptinCaller, listId: string, number: string): Promise<SubscriberView>;
  listSubscribers(
    caller: OptinCaller,
    listId: string,
    status: SubscriberStatus | undefined,
    cursor: string | undefined,
    limit: number,
  ): Promise<SubscriberPage>;
  consent(caller: OptinCaller, listId: string, number: string): Promise<ConsentRecord>;
  /** An inbound SMS: YES confirms the newest pending sign-up with that sender, STOP leaves all its lists, HELP answers. */
  inbound(message: InboundMessage): Promise<InboundResult>;
  /** Expires pending sign-ups whose window ended (ledger `expired`); returns how many. */
  expireDue(): Promise<number>;
  /** Deletes ledger entries older than the cutoff (the retention policy); returns how many. */
  purgeLedger(cutoff: number): Promise<number>;
}

const iso = (ms: number): string => new Date(ms).toISOString();
const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');
const EXPIRY_BATCH = 500;

function listView(list: ListRecord): ListView {
  return {
    id: list.id,
    name: list.name,
    brand: list.brand,
    sender: list.sender,
    confirmationWindowHours: list.windowSeconds / 3600,
    templates: list.templates,
    helpContact: list.helpContact,
    createdAt: iso(list.createdAt),
  };
}

function subscriberView(s: SubscriberRecord): SubscriberView {
  return {
    listId: s.listId,
    to: s.number,
    status: s.status,
    locale: s.locale,
    requestedAt: iso(s.requestedAt),
    expiresAt: iso(s.expiresAt),
    confirmedAt: s.confirmedAt === null ? null : iso(s.confirmedAt),
    unsubscribedAt: s.unsubscribedAt === null ? null : iso(s.unsubscribedAt),
  };
}

function ledgerView(e: StoredLedgerEntry): LedgerView {
  return {
    id: e.id,
    at: iso(e.at),
    type: e.type,
    channel: e.channel,
    ip: e.ip,
    userAgent: e.userAgent,
    source: e.source,
    consentText: e.consentText,
    consentTextVersion: e.consentTextVersion,
    text: e.text,
    textSha256: e.textSha256,
    details: e.details,
  };
}

/** The dependencies as the functions below use them: the default guard filled in, the failure recorder built once. */
interface ResolvedOptinDeps extends Omit<OptinServiceDeps, 'guard'>, FailureRecorder {
  guard: VerificationGuard;
}

/** A list and a number's sign-up row on it. */
interface ListRow {
  list: ListRecord;
  row: SubscriberRecord;
}

/** Builds a reply_received ledger entry for one list (bound per inbound message). */
type ReceivedEntry = (list: ListRecord, signupId: string | null) => LedgerEntry;

/**
 * Double opt-in for marketing lists (TCPA prior express written consent; GDPR Art. 7(1): the
 * controller must be able to demonstrate consent). Every change of a subscription is one guarded
 * store transition committed together with its ledger evidence.
 */
export function createOptinService(deps: OptinServiceDeps): OptinService {
  const d: ResolvedOptinDeps = {
    ...deps,
    guard: deps.guard ?? OPEN_GUARD,
    ...createFailureRecorder(deps.events, deps.clock),
  };
  return {
    createList: (caller, input) => createList(d, caller, input),
    getList: async (caller, listId) => listView(await listOrFail(d, caller, listId)),
    subscribe: (caller, listId, input) => subscribe(d, caller, listId, input),
    confirm: (caller, listId, to, code, signals) => confirm(d, caller, listId, to, code, signals),
    unsubscribe: (caller, listId, number) => unsubscribe(d, caller, listId, number),
    listSubscribers: (caller, listId, status, cursor, limit) =>
      listSubscribers(d, caller, listId, status, cursor, limit),
    consent: (caller, listId, number) => consent(d, caller, listId, number),
    inbound: (message) => inbound(d, message),
    expireDue: () => sweep(d),
    purgeLedger: (cutoff) => d.store.purgeLedgerBefore(cutoff),
  };
}

async function listOrFail(
  deps: ResolvedOptinDeps,
  caller: OptinCaller,
  listId: string,
): Promise<ListRecord> {
  const list = await deps.store.findList(caller.app, listId);
  return (
    list ??
    deps.fail('not_found', {
      app: caller.app,
      ip: caller.clientIp,
      userAgent: caller.userAgent,
      rule: 'optin:list',
    })
  );
}

async function phoneOrFail(
  deps: ResolvedOptinDeps,
  caller: OptinCaller,
  to: string,
  ip: string | undefined,
  userAgent: string | undefined,
): Promise<PhoneNumber> {
  try {
    return parsePhone(to);
  } catch (error) {
    if (error instanceof DomainError)
      return deps.fail(error.reason, { app: caller.app, ip, userAgent, rule: 'optin:phone' });
    throw error;
  }
}

function entry(
  deps: ResolvedOptinDeps,
  list: ListRecord,
  number: string,
  fields: Partial<LedgerEntry> & Pick<LedgerEntry, 'type' | 'channel'>,
): LedgerEntry {
  return {
    at: deps.clock.now(),
    app: list.app,
    listId: list.id,
    number,
    signupId: null,
    ip: null,
    userAgent: null,
    source: null,
    consentText: null,
    consentTextVersion: null,
    text: null,
    textSha256: null,
    details: null,
    ...fields,
  };
}

/**
 * Sends one message from the list's sender and returns its ledger entries (one per list given).
 * The ledger keeps the text with the code masked, and the SHA-256 of the exact text sent, so the
 * provider's copy can be matched without the ledger ever showing a live code.
 */
async function send(
  deps: ResolvedOptinDeps,
  lists: ListRecord[],
  number: string,
  body: string,
  signupId: string | null,
  code?: string,
): Promise<LedgerEntry[]> {
  const { sms, clock } = deps;
  const first = lists[0];
  if (!first) return [];
  const result = await sms.send({
    to: number,
    body,
    from: first.sender,
    verificationId: signupId ?? newId('msg', clock.now()),
  });
  const shown = code === undefined ? body : body.split(code).join('•'.repeat(code.length));
  if (result.status !== 'sent') {
    // A gateway may echo the body in its error: the code never reaches the event record.
    const errorMessage =
      code === undefined ? result.errorMessage : redactCode(result.errorMessage, code);
    await deps.events.record({
      at: clock.now(),
      kind: 'failure',
      reason: 'delivery_failed',
      app: first.app,
      number,
      provider: sms.name,
      providerError: `${result.errorCode}: ${errorMessage}`.slice(0, 300),
    });
  }
  return lists.map((list) =>
    entry(deps, list, number, {
      type: result.status === 'sent' ? 'message_sent' : 'message_failed',
      channel: 'sms',
      signupId,
      text: shown,
      textSha256: sha256(body),
      details:
        result.status === 'sent'
          ? {
              provider: sms.name,
              from: first.sender,
              providerMessageId: result.providerMessageId ?? null,
            }
          : { provider: sms.name, from: first.sender, errorCode: result.errorCode },
    }),
  );
}

async function sweep(deps: ResolvedOptinDeps): Promise<number> {
  let total = 0;
  for (;;) {
    const now = deps.clock.now();
    const rows = await deps.store.expireDue(now, EXPIRY_BATCH, (s) => ({
      at: now,
      app: s.app,
      listId: s.listId,
      number: s.number,
      signupId: s.signupId,
      type: 'expired',
      channel: 'system',
      ip: null,
      userAgent: null,
      source: null,
      consentText: null,
      consentTextVersion: null,
      text: null,
      textSha256: null,
      details: { requestedAt: iso(s.requestedAt), expiresAt: iso(s.expiresAt) },
    }));
    total += rows.length;
    if (rows.length < EXPIRY_BATCH) return total;
  }
}

/** The newest sign-up row of a number on each of these lists (lists without one are left out). */
async function rowsOf(
  deps: ResolvedOptinDeps,
  lists: ListRecord[],
  number: string,
): Promise<ListRow[]> {
  const found: ListRow[] = [];
  for (const list of lists) {
    const row = await deps.store.findSubscriber(list.id, number);
    if (row) found.push({ list, row });
  }
  return found;
}

function checkAttempt(
  s: SubscriberRecord,
  phone: PhoneNumber,
  ip: string | undefined,
  userAgent: string | undefined,
  sink?: LimitStateSink,
): CheckAttempt {
  return {
    app: s.app,
    verificationId: s.signupId,
    to: s.number,
    country: phone.country ?? null,
    ip,
    userAgent,
    onLimitState: sink,
  };
}

async function createList(
  deps: ResolvedOptinDeps,
  caller: OptinCaller,
  input: CreateListInput,
): Promise<ListView> {
  const { clock } = deps;
  const problems = Object.entries(input.templates ?? {}).flatMap(([locale, t]) =>
    t.confirmation === undefined
      ? []
      : confirmationTemplateProblems(t.confirmation).map((message) => ({
          path: `templates.${locale}.confirmation`,
          message,
        })),
  );
  if (problems.length > 0)
    return deps.fail(
      'invalid_request',
      { app: caller.app, ip: caller.clientIp, rule: 'optin:template' },
      { details: { errors: problems } },
    );
  const list: ListRecord = {
    id: newId('lst', clock.now()),
    app: caller.app,
    name: input.name,
    brand: input.brand,
    sender: input.sender,
    windowSeconds: (input.confirmationWindowHours ?? 48) * 3600,
    templates: input.templates ?? {},
    helpContact: input.helpContact ?? null,
    createdAt: clock.now(),
  };
  await deps.store.createList(list);
  return listView(list);
}

/** A sign-up sends an SMS: the same limits and abuse rules as a verification's start judge it. */
function guardSignup(
  deps: ResolvedOptinDeps,
  caller: OptinCaller,
  phone: PhoneNumber,
  ip: string | undefined,
  userAgent: string | undefined,
  facts: FailureContext,
): Promise<void> {
  return deps.guarded(
    () =>
      deps.guard.beforeStart({
        app: caller.app,
        phone,
        channel: 'sms',
        ip,
        clientIp: caller.clientIp,
        userAgent,
        deviceId: undefined,
        purpose: 'optin',
        onLimitState: caller.onLimitState,
      }),
    facts,
  );
}

async function subscribe(
  deps: ResolvedOptinDeps,
  caller: OptinCaller,
  listId: string,
  input: SubscribeInput,
): Promise<SubscriberView> {
  const { store, clock, settings } = deps;
  const list = await listOrFail(deps, caller, listId);
  const ip = input.signals?.ip ?? caller.clientIp;
  const userAgent = input.signals?.userAgent ?? caller.userAgent;
  const phone = await phoneOrFail(deps, caller, input.to, ip, userAgent);
  const facts = {
    app: caller.app,
    ip,
    userAgent,
    number: phone.e164,
    country: phone.country,
    numberType: phone.type,
    channel: 'sms',
  };
  await guardSignup(deps, caller, phone, ip, userAgent, facts);
  await sweep(deps);
  const now = clock.now();
  const signupId = newId('sgn', now);
  const code = generateCode(settings.codeLength);
  const locale: OptinLocale = resolveOptinLocale(input.locale);
  const requested = entry(deps, list, phone.e164, {
    type: 'requested',
    channel: 'api',
    signupId,
    ip: ip ?? null,
    userAgent: userAgent ?? null,
    source: input.source,
    consentText: input.consentText,
    consentTextVersion: input.consentVersion ?? `sha256:${sha256(input.consentText)}`,
    details: {
      locale,
      expiresAt: iso(now + list.windowSeconds * 1000),
      clientIp: caller.clientIp ?? null,
    },
  });
  const row = await store.openSignup(
    {
      id: newId('sub', now),
      app: caller.app,
      listId: list.id,
      number: phone.e164,
      signupId,
      codeHash: hashCode(deps.pepper, signupId, code),
      maxAttempts: settings.maxConfirmAttempts,
      locale,
      now,
      expiresAt: now + list.windowSeconds * 1000,
    },
    [requested],
  );
  if (!row) {
    const current = await store.findSubscriber(list.id, phone.e164);
    if (!current) throw new Error('a confirmed subscriber vanished');
    return subscriberView(current);
  }
  const body = renderOptinMessage('confirmation', locale, list.templates, {
    brand: list.brand,
    list: list.name,
    code,
    contact: list.helpContact ?? undefined,
  });
  await store.appendLedger(await send(deps, [list], phone.e164, body, signupId, code));
  await deps.events.record({
    ...facts,
    at: clock.now(),
    kind: 'success',
    reason: 'optin_requested',
    details: { listId: list.id },
  });
  return subscriberView(row);
}

async function confirm(
  deps: ResolvedOptinDeps,
  caller: OptinCaller,
  listId: string,
  to: string,
  code: string,
  signals?: SubscribeInput['signals'],
): Promise<SubscriberView> {
  const { store, clock, guard, fail } = deps;
  const list = await listOrFail(deps, caller, listId);
  const ip = signals?.ip ?? caller.clientIp;
  const userAgent = signals?.userAgent ?? caller.userAgent;
  const phone = await phoneOrFail(deps, caller, to, ip, userAgent);
  const facts = {
    app: caller.app,
    ip,
    userAgent,
    number: phone.e164,
    country: phone.country,
    rule: 'optin:confirm',
  };
  await sweep(deps);
  const row = await store.findSubscriber(list.id, phone.e164);
  if (!row || row.status === 'unsubscribed') return fail('not_found', facts);
  if (row.status === 'confirmed') return fail('already_used', facts);
  if (row.status === 'expired') return fail('expired', facts);
  const attempt = checkAttempt(row, phone, ip, userAgent, caller.onLimitState);
  await deps.guarded(() => guard.beforeCheck(attempt), facts);
  const now = clock.now();
  const attempts = await store.reserveAttempt(list.id, phone.e164, row.signupId, now);
  if (attempts === undefined) {
    const current = await store.findSubscriber(list.id, phone.e164);
    if (current?.status === 'confirmed') return fail('already_used', facts);
    if (
      current?.status === 'pending' &&
      current.signupId === row.signupId &&
      current.attempts >= current.maxAttempts
    )
      return fail('max_attempts_exceeded', facts);
    return fail(current?.status === 'pending' ? 'not_found' : 'expired', facts);
  }
  if (row.codeHash === null || matchCode(deps.pepper, row.signupId, code, [row.codeHash]) < 0) {
    const locked = attempts >= row.maxAttempts;
    await guard.afterCheck(attempt, locked ? 'locked' : 'incorrect');
    return fail('incorrect_code', facts, {
      details: { attemptsRemaining: Math.max(0, row.maxAttempts - attempts) },
    });
  }
  const confirmed = await store.confirmPending(list.id, phone.e164, row.signupId, now, [
    entry(deps, list, phone.e164, {
      type: 'confirmed',
      channel: 'web',
      signupId: row.signupId,
      ip: ip ?? null,
      userAgent: userAgent ?? null,
      details: { method: 'code' },
    }),
  ]);
  if (!confirmed) return fail('already_used', facts);
  await guard.afterCheck(attempt, 'approved');
  await deps.events.record({
    app: caller.app,
    ip,
    userAgent,
    number: phone.e164,
    at: clock.now(),
    kind: 'success',
    reason: 'optin_confirmed',
    details: { listId: list.id, via: 'web' },
  });
  return subscriberView(confirmed);
}

async function unsubscribe(
  deps: ResolvedOptinDeps,
  caller: OptinCaller,
  listId: string,
  number: string,
): Promise<SubscriberView> {
  const { store } = deps;
  const list = await listOrFail(deps, caller, listId);
  const phone = await phoneOrFail(deps, caller, number, caller.clientIp, caller.userAgent);
  const changed = await store.unsubscribe(list.id, phone.e164, deps.clock.now(), (row) => [
    entry(deps, list, phone.e164, {
      type: 'unsubscribed',
      channel: 'api',
      signupId: row.signupId,
      ip: caller.clientIp ?? null,
      userAgent: caller.userAgent ?? null,
      details: { via: 'api' },
    }),
  ]);
  const current = changed ?? (await store.findSubscriber(list.id, phone.e164));
  if (!current)
    return deps.fail('not_found', {
      app: caller.app,
      ip: caller.clientIp,
      number: phone.e164,
      rule: 'optin:subscriber',
    });
  return subscriberView(current);
}

async function listSubscribers(
  deps: ResolvedOptinDeps,
  caller: OptinCaller,
  listId: string,
  status: SubscriberStatus | undefined,
  cursor: string | undefined,
  limit: number,
): Promise<SubscriberPage> {
  const list = await listOrFail(deps, caller, listId);
  await sweep(deps);
  const rows = await deps.store.page(list.id, status, cursor, limit + 1);
  const items = rows.slice(0, limit);
  return {
    items: items.map(subscriberView),
    nextCursor: rows.length > limit ? (items.at(-1)?.id ?? null) : null,
  };
}

async function consent(
  deps: ResolvedOptinDeps,
  caller: OptinCaller,
  listId: string,
  number: string,
): Promise<ConsentRecord> {
  const { store } = deps;
  const list = await listOrFail(deps, caller, listId);
  const phone = await phoneOrFail(deps, caller, number, caller.clientIp, caller.userAgent);
  await sweep(deps);
  const row = await store.findSubscriber(list.id, phone.e164);
  if (!row)
    return deps.fail('not_found', {
      app: caller.app,
      ip: caller.clientIp,
      number: phone.e164,
      rule: 'optin:subscriber',
    });
  const trail = await store.ledgerFor(list.id, phone.e164);
  return {
    list: listView(list),
    subscriber: subscriberView(row),
    trail: trail.map(ledgerView),
    generatedAt: iso(deps.clock.now()),
  };
}

async function inbound(deps: ResolvedOptinDeps, message: InboundMessage): Promise<InboundResult> {
  const { store } = deps;
  const lists = await store.listsBySender(message.to.trim());
  let phone: PhoneNumber | undefined;
  try {
    phone = parsePhone(message.from);
  } catch {
    phone = undefined;
  }
  if (lists.length === 0 || !phone) {
    await deps.events.record({
      at: deps.clock.now(),
      kind: 'failure',
      reason: 'inbound_ignored',
      provider: message.provider,
      ip: message.ip,
      rule: lists.length === 0 ? 'optin:unknown_sender' : 'optin:invalid_from',
    });
    return 'ignored';
  }
  const number = phone.e164;
  await sweep(deps);
  const rows = await rowsOf(deps, lists, number);
  const keyword = parseKeyword(message.body);
  const received: ReceivedEntry = (list, signupId) =>
    entry(deps, list, number, {
      type: 'reply_received',
      channel: 'sms',
      signupId,
      text: message.body,
      textSha256: sha256(message.body),
      details: {
        provider: message.provider,
        to: message.to,
        messageId: message.messageId ?? null,
        keyword: keyword ?? null,
      },
    });

  if (keyword === 'confirm') return confirmByReply(deps, message, phone, rows, received);
  if (keyword === 'stop') return stopByReply(deps, message, number, rows, received);
  if (keyword === 'help') return answerHelp(deps, lists, number, rows, received);
  await store.appendLedger(rows.map((r) => received(r.list, r.row.signupId)));
  return 'ignored';
}

async function confirmByReply(
  deps: ResolvedOptinDeps,
  message: InboundMessage,
  phone: PhoneNumber,
  rows: ListRow[],
  received: ReceivedEntry,
): Promise<InboundResult> {
  const { store, clock } = deps;
  const number = phone.e164;
  // A YES answers the newest confirmation request this sender sent to the number.
  const pending = rows
    .filter((r) => r.row.status === 'pending')
    .sort((a, b) => b.row.requestedAt - a.row.requestedAt)[0];
  if (!pending) {
    await store.appendLedger(rows.map((r) => received(r.list, r.row.signupId)));
    return 'ignored';
  }
  const now = clock.now();
  const confirmed = await store.confirmPending(pending.list.id, number, pending.row.signupId, now, [
    received(pending.list, pending.row.signupId),
    entry(deps, pending.list, number, {
      type: 'confirmed',
      channel: 'sms',
      signupId: pending.row.signupId,
      details: { method: 'reply', provider: message.provider },
    }),
  ]);
  if (!confirmed) {
    await store.appendLedger([received(pending.list, pending.row.signupId)]);
    return 'ignored';
  }
  await deps.guard.afterCheck(checkAttempt(pending.row, phone, undefined, undefined), 'approved');
  await deps.events.record({
    at: clock.now(),
    kind: 'success',
    reason: 'optin_confirmed',
    app: pending.list.app,
    number,
    provider: message.provider,
    details: { listId: pending.list.id, via: 'sms' },
  });
  return 'confirmed';
}

async function stopByReply(
  deps: ResolvedOptinDeps,
  message: InboundMessage,
  number: string,
  rows: ListRow[],
  received: ReceivedEntry,
): Promise<InboundResult> {
  const { store, clock } = deps;
  // A STOP applies to every list of this sender (CTIA; TCPA revocation "by any reasonable means").
  const changed: ListRow[] = [];
  for (const { list } of rows) {
    const now = clock.now();
    const row = await store.unsubscribe(list.id, number, now, (r) => [
      received(list, r.signupId),
      entry(deps, list, number, {
        type: 'unsubscribed',
        channel: 'sms',
        signupId: r.signupId,
        details: { via: 'reply', provider: message.provider },
      }),
    ]);
    if (row) changed.push({ list, row });
    else await store.appendLedger([received(list, null)]);
  }
  if (changed.length === 0) return 'ignored';
  // One final message, whatever the number of lists left; none when nothing changed (no loop with an auto-responder).
  const newest = [...changed].sort((a, b) => b.row.requestedAt - a.row.requestedAt)[0] as ListRow;
  const body = renderOptinMessage(
    'stopped',
    resolveOptinLocale(newest.row.locale),
    newest.list.templates,
    { brand: newest.list.brand, list: newest.list.name },
  );
  await store.appendLedger(
    await send(
      deps,
      changed.map((c) => c.list),
      number,
      body,
      null,
    ),
  );
  await deps.events.record({
    at: clock.now(),
    kind: 'success',
    reason: 'optin_unsubscribed',
    number,
    provider: message.provider,
    details: { lists: changed.map((c) => c.list.id) },
  });
  return 'unsubscribed';
}

async function answerHelp(
  deps: ResolvedOptinDeps,
  lists: ListRecord[],
  number: string,
  rows: ListRow[],
  received: ReceivedEntry,
): Promise<InboundResult> {
  const { store } = deps;
  await store.appendLedger(rows.map((r) => received(r.list, r.row.signupId)));
  const target = [...rows].sort((a, b) => b.row.requestedAt - a.row.requestedAt)[0];
  const list = target?.list ?? lists.at(-1);
  if (!list) return 'ignored';
  const locale = resolveOptinLocale(target?.row.locale);
  const body = renderOptinMessage('help', locale, list.templates, {
    brand: list.brand,
    list: list.name,
    contact: list.helpContact ?? undefined,
  });
  const sent = await send(deps, [list], number, body, target?.row.signupId ?? null);
  // The help answer is evidence only on a list the number has a record on.
  if (target)
    await store.appendLedger(
      sent.map((e) => ({ ...e, type: e.type === 'message_sent' ? 'help_sent' : e.type })),
    );
  return 'help';
}
