import { createHash } from 'node:crypto';
import { DomainError } from '../platform/errors.js';

/**
 * Transactions that a code approves (PSD2 "dynamic linking", RTS Art. 5): the person sees the amount
 * and the payee, and the code is bound to a hash of exactly those, so a code obtained for one
 * transaction never approves another.
 */
export interface Transaction {
  /** Decimal amount with exactly the currency's minor digits, e.g. "250.00" (EUR), "1000" (JPY). */
  amount: string;
  /** ISO 4217 code, upper case. */
  currency: string;
  /** Who is paid, as shown to the person: Unicode NFC, trimmed, inner whitespace collapsed. */
  payee: string;
}

export interface TransactionInput {
  amount: string | number;
  currency: string;
  payee: string;
}

const AMOUNT = /^(0|[1-9][0-9]{0,11})(\.[0-9]{1,4})?$/;
// Letters, marks, numbers, punctuation, symbols and spaces: nothing that could reshape the message.
const PAYEE = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]+$/u;

function minorDigits(currency: string): number {
  try {
    return (
      new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions()
        .maximumFractionDigits ?? 2
    );
  } catch {
    throw new DomainError('invalid_request', {
      details: { errors: [{ path: 'transaction.currency', message: 'unknown currency' }] },
    });
  }
}

const invalid = (path: string, message: string): DomainError =>
  new DomainError('invalid_request', {
    details: { errors: [{ path: `transaction.${path}`, message }] },
  });

/**
 * The canonical form of a transaction: "250", "250.0" and 250 are the same EUR amount ("250.00").
 * Throws invalid_request for an unknown currency, a non-positive amount, more decimals than the
 * currency has, or a payee with control characters.
 */
export function canonicalTransaction(input: TransactionInput): Transaction {
  const currency = input.currency.toUpperCase();
  if (!/^[A-Z]{3}$/.test(currency)) throw invalid('currency', 'must be an ISO 4217 code');
  const digits = minorDigits(currency);
  const raw = typeof input.amount === 'number' ? String(input.amount) : input.amount.trim();
  const match = AMOUNT.exec(raw);
  if (!match)
    throw invalid('amount', 'must be a positive decimal number with at most 12 integer digits');
  const whole = match[1] ?? '0';
  const fraction = (match[2] ?? '.').slice(1);
  if (fraction.replace(/0+$/, '').length > digits)
    throw invalid('amount', `${currency} has ${digits} decimal digits`);
  const amount = digits === 0 ? whole : `${whole}.${fraction.padEnd(digits, '0').slice(0, digits)}`;
  if (!/[1-9]/.test(amount)) throw invalid('amount', 'must be greater than zero');
  // Control characters (line breaks included) are refused, not collapsed: a payee must not be able to
  // start a line of its own in the message the person reads.
  const payee = input.payee.normalize('NFC').trim().replace(/ {2,}/g, ' ');
  if (payee.length === 0 || payee.length > 70 || !PAYEE.test(payee))
    throw invalid('payee', 'must be 1 to 70 printable characters');
  return { amount, currency, payee };
}

/** Stable serialisation of a canonical transaction, as stored. */
export function serializeTransaction(transaction: Transaction): string {
  return JSON.stringify([transaction.amount, transaction.currency, transaction.payee]);
}

export function parseTransaction(serialized: string): Transaction {
  const [amount, currency, payee] = JSON.parse(serialized) as [string, string, string];
  return { amount, currency, payee };
}

/**
 * SHA-256 (base64url) of the versioned canonical form. This is what codes are bound to and what
 * result tokens carry (`txn_hash`), so a relying party can recompute it from its own record.
 */
export function transactionHash(transaction: Transaction): string {
  return createHash('sha256')
    .update(`otp-verify:txn:v1\u0000${serializeTransaction(transaction)}`)
    .digest('base64url');
}
