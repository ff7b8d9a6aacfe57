import { randomBytes } from 'node:crypto';

export interface ApiKeyRecord {
  id: string;
  app: string;
  scopes: string[];
  secretHash: string;
  createdAt: number;
  revokedAt: number | null;
}

export interface AppSettings {
  name: string;
  brand: string | null;
  codeLength: number | null;
  webOtpDomain: string | null;
  /** Whether the app may choose its own codes (Twilio Verify's custom codes); false unless set. */
  customCodes: boolean;
  /** The app's Twilio Verify Service sid (`VA` + 32 hex): set when its row is inserted, never changed. */
  twilioServiceSid: string | null;
  createdAt: number;
  updatedAt: number;
}

/** The settings an app can change (the others are its identity and its times). */
export type AppSettingsPatch = Partial<
  Pick<AppSettings, 'brand' | 'codeLength' | 'webOtpDomain' | 'customCodes'>
>;

/**
 * A new Twilio Verify Service sid: `VA` and 128 random bits in hex. Stores give one to every app
 * row they insert, so an app has its sid from the moment it exists, on every instance.
 */
export function newServiceSid(): string {
  return `VA${randomBytes(16).toString('hex')}`;
}

/** API keys, stored as a hash of their secret part. */
export interface ApiKeyStore {
  insert(key: ApiKeyRecord): Promise<void>;
  findActive(id: string): Promise<ApiKeyRecord | undefined>;
  list(): Promise<ApiKeyRecord[]>;
  /** Sets revokedAt iff not yet revoked; true iff this call revoked it. */
  revoke(id: string, now: number): Promise<boolean>;
}

/** Per-app settings: brand shown in messages, code length, WebOTP domain, custom codes, Service sid. */
export interface AppStore {
  get(name: string): Promise<AppSettings | undefined>;
  /** The app with this Twilio Verify Service sid: one read of a unique index. */
  findByServiceSid(sid: string): Promise<AppSettings | undefined>;
  /** Apps oldest first (then by name), `limit` of them after skipping `offset`. */
  list(page: { offset: number; limit: number }): Promise<AppSettings[]>;
  /** Creates the app if missing (with no settings); never overwrites existing settings. */
  ensure(name: string, now: number): Promise<void>;
  /** Inserts a new app iff no app has this name (one guarded statement); undefined when one has. */
  create(name: string, settings: AppSettingsPatch, now: number): Promise<AppSettings | undefined>;
  /** Creates or updates the given settings; fields left undefined keep their value. */
  upsert(name: string, settings: AppSettingsPatch, now: number): Promise<AppSettings>;
  /** Deletes the app's settings row (its sid with it); true iff this call deleted it. */
  remove(name: string): Promise<boolean>;
}
