import { createHmac, randomInt, timingSafeEqual } from 'node:crypto';

/**
 * One-time codes. Generated with a CSPRNG (crypto.randomInt, uniform over the whole code space),
 * never stored in clear: only HMAC-SHA256(pepper, verificationId ":" code) is kept, so a stolen
 * database alone does not reveal or let anyone brute-force codes offline (NIST SP 800-63B §5.1.3.2).
 */
export function generateCode(length: number): string {
  let code = '';
  for (let i = 0; i < length; i++) code += String(randomInt(10));
  return code;
}

export interface CodeBinding {
  /** transactionHash() of the transaction the code approves; absent for a plain verification. */
  transactionHash?: string | undefined;
}

/**
 * HMAC binding the code to its verification and, when given, to a transaction hash, so the same
 * digits presented with another amount or payee do not match. Without a transaction the value is
 * the one earlier versions stored. Hex encoded.
 */
export function hashCode(
  pepper: Buffer,
  verificationId: string,
  code: string,
  binding: CodeBinding = {},
): string {
  const hmac = createHmac('sha256', pepper).update(verificationId).update('\u0000').update(code);
  if (binding.transactionHash !== undefined)
    hmac.update('\u0000txn\u0000').update(binding.transactionHash);
  return hmac.digest('hex');
}

/**
 * Compares a presented code with every stored hash of the verification, in constant time per hash,
 * and always compares against all of them so timing does not tell which delivery matched.
 * Returns the index of the matching hash, or -1.
 */
export function matchCode(
  pepper: Buffer,
  verificationId: string,
  code: string,
  storedHashes: readonly string[],
  binding: CodeBinding = {},
): number {
  const presented = Buffer.from(hashCode(pepper, verificationId, code, binding), 'hex');
  let match = -1;
  storedHashes.forEach((stored, index) => {
    const expected = Buffer.from(stored, 'hex');
    if (
      expected.length === presented.length &&
      timingSafeEqual(expected, presented) &&
      match === -1
    )
      match = index;
  });
  return match;
}

/** A code as a client may send it: ASCII digits only. Other Unicode digits are refused, not normalised. */
export function isWellFormedCode(code: string, length: number): boolean {
  return code.length === length && /^[0-9]+$/.test(code);
}
