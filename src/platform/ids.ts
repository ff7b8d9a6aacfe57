import { randomFillSync } from 'node:crypto';

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz'; // Crockford base32, lower case

// CSPRNG bytes drawn 4 KiB at a time and handed out 10 bytes per id (as node's randomUUID does
// with its own cache): one randomFill per 409 ids instead of one per id.
const POOL_SIZE = 4096;
const RANDOM_BYTES = 10;
const pool = Buffer.alloc(POOL_SIZE);
let offset = POOL_SIZE;

function randomChunk(): Buffer {
  if (offset + RANDOM_BYTES > POOL_SIZE) {
    randomFillSync(pool);
    offset = 0;
  }
  const chunk = pool.subarray(offset, offset + RANDOM_BYTES);
  offset += RANDOM_BYTES;
  return chunk;
}

/**
 * A time-ordered identifier with a readable prefix, e.g. `ver_01jq…`: 48 bits of `now` (the
 * Clock's milliseconds) then 80 random bits, 26 Crockford base32 characters (the ULID layout). 80 bits
 * cannot be guessed; the leading time makes ids made close together sort together, so new rows
 * go to the right edge of every index keyed by an id (the primary keys, and the events and
 * deliveries indexes on their verification) instead of a random page each: fewer pages written
 * per request, and recent rows in cached pages however large the tables grow.
 */
export function newId(prefix: string, now: number): string {
  let out = '';
  // 48-bit time, 10 characters, most significant first (2^48 ms lasts until the year 10889).
  let time = Math.max(0, Math.floor(now));
  for (let i = 0; i < 10; i++) {
    out = ALPHABET[time % 32] + out;
    time = Math.floor(time / 32);
  }
  const bytes = randomChunk();
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = ((buffer << 8) | byte) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += ALPHABET[(buffer >> bits) & 31];
    }
  }
  return `${prefix}_${out}`;
}

/** True when `value` has the shape of an id made by newId with this prefix. */
export function isId(prefix: string, value: string): boolean {
  return (
    value.length === prefix.length + 27 &&
    value.startsWith(`${prefix}_`) &&
    /^[0-9a-hjkmnp-tv-z]{26}$/.test(value.slice(prefix.length + 1))
  );
}
