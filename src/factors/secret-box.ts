import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/** One AES-256 key of the keyring, named by a key id that is stored with every sealed value. */
export interface SealingKey {
  kid: string;
  key: Buffer;
}

/**
 * Encryption of factor secrets at rest: AES-256-GCM with a random 96-bit IV per value (NIST SP
 * 800-38D §8.2.2) and the owning row's id as associated data, so a sealed secret copied onto another
 * factor does not open. The first key seals; every key opens, which is what makes rotation possible.
 */
export interface SecretBox {
  /** `v1.<kid>.<iv>.<ciphertext>.<tag>`, base64url parts. */
  seal(plaintext: Uint8Array, associatedData: string): string;
  /** Throws when the key id is unknown or the value was altered or belongs to another row. */
  open(sealed: string, associatedData: string): Buffer;
  /** The id of the key that seals: values under any other key are due for re-sealing. */
  readonly currentKid: string;
}

const KID = /^[A-Za-z0-9_-]{1,32}$/;

/** Parses `kid1:base64key,kid2:base64key`; returns problems rather than throwing, for config validation. */
export function parseSealingKeys(value: string): { keys: SealingKey[]; problems: string[] } {
  const keys: SealingKey[] = [];
  const problems: string[] = [];
  for (const entry of value
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean)) {
    const colon = entry.indexOf(':');
    const kid = colon > 0 ? entry.slice(0, colon) : '';
    const encoded = colon > 0 ? entry.slice(colon + 1) : '';
    if (!KID.test(kid)) {
      problems.push(
        `entry ${keys.length + problems.length + 1} must look like <kid>:<base64 32-byte key>, kid of letters, digits, _ or -`,
      );
      continue;
    }
    const key = Buffer.from(encoded, 'base64');
    if (key.length !== 32 || !/^[A-Za-z0-9+/_-]+={0,2}$/.test(encoded)) {
      problems.push(
        `key "${kid}" must be 32 bytes, base64 encoded (e.g. \`openssl rand -base64 32\`)`,
      );
      continue;
    }
    if (keys.some((k) => k.kid === kid)) {
      problems.push(`key id "${kid}" appears twice`);
      continue;
    }
    keys.push({ kid, key });
  }
  if (keys.length === 0 && problems.length === 0) problems.push('must name at least one key');
  return { keys, problems };
}

export function createSecretBox(keys: readonly SealingKey[]): SecretBox {
  const current = keys[0];
  if (!current) throw new Error('the factor keyring is empty');
  const byKid = new Map(keys.map((k) => [k.kid, k.key]));

  return {
    seal(plaintext, associatedData) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', current.key, iv);
      cipher.setAAD(Buffer.from(associatedData, 'utf8'));
      const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
      return [
        'v1',
        current.kid,
        iv.toString('base64url'),
        ciphertext.toString('base64url'),
        cipher.getAuthTag().toString('base64url'),
      ].join('.');
    },
    open(sealed, associatedData) {
      const [version, kid, iv, ciphertext, tag] = sealed.split('.');
      const key = kid === undefined ? undefined : byKid.get(kid);
      if (
        version !== 'v1' ||
        !key ||
        iv === undefined ||
        ciphertext === undefined ||
        tag === undefined
      ) {
        throw new Error(
          `cannot open a sealed secret (key id ${kid ?? '?'} is not in FACTOR_ENCRYPTION_KEYS)`,
        );
      }
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'), {
        authTagLength: 16,
      });
      decipher.setAAD(Buffer.from(associatedData, 'utf8'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([
        decipher.update(Buffer.from(ciphertext, 'base64url')),
        decipher.final(),
      ]);
    },
    currentKid: current.kid,
  };
}
