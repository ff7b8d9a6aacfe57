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
  createdAt: number;
  updatedAt: number;
}

/** API keys, stored as a hash of their secret part. */
export interface ApiKeyStore {
  insert(key: ApiKeyRecord): Promise<void>;
  findActive(id: string): Promise<ApiKeyRecord | undefined>;
  list(): Promise<ApiKeyRecord[]>;
  /** Sets revokedAt iff not yet revoked; true iff this call revoked it. */
  revoke(id: string, now: number): Promise<boolean>;
}

/** Per-app settings: brand shown in messages, code length, WebOTP domain. */
export interface AppStore {
  get(name: string): Promise<AppSettings | undefined>;
  /** Creates the app if missing (with no settings); never overwrites existing settings. */
  ensure(name: string, now: number): Promise<void>;
  /** Creates or updates the given settings; fields left undefined keep their value. */
  upsert(name: string, settings: Partial<Pick<AppSettings, 'brand' | 'codeLength' | 'webOtpDomain'>>, now: number): Promise<AppSettings>;
}
