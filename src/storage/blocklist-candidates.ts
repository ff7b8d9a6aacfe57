import { and, eq, gt, inArray, isNull, or, sql, type Column, type SQL } from 'drizzle-orm';
import type { BlockSubject } from '../limits/limits.store.js';

/** An E.164 number has at most 16 characters: '+' and 15 digits. */
const MAX_NUMBER_LENGTH = 16;

/**
 * The condition of "every blocklist entry that could apply to one start", the same on both
 * dialects, for a statement prepared once with the parameters of `candidateParams`. Decisions read
 * the table each time, so a change made by any instance applies to the next request everywhere.
 * Prefix entries are looked up by the number's own prefixes (index equality on kind and value),
 * so expired or unrelated prefix blocks piling up over the years are never read. An absent country
 * or address is NULL, which equals nothing: its branch matches no row.
 */
export function candidatesCondition(t: { kind: Column; value: Column; expiresAt: Column }): SQL | undefined {
  const p = sql.placeholder;
  const prefixes = Array.from({ length: MAX_NUMBER_LENGTH }, (_, i) => p(`prefix${i}`));
  return and(
    or(isNull(t.expiresAt), gt(t.expiresAt, p('now'))),
    or(
      and(eq(t.kind, 'number'), eq(t.value, p('number'))),
      and(eq(t.kind, 'prefix'), inArray(t.value, prefixes)),
      and(eq(t.kind, 'country'), eq(t.value, p('country'))),
      and(eq(t.kind, 'ip'), eq(t.value, p('ip'))),
      eq(t.kind, 'cidr'),
    ),
  );
}

/** The parameters of `candidatesCondition` for one start: every prefix of the number, shortest first, padded with the whole number. */
export function candidateParams(subject: BlockSubject, now: number): Record<string, string | number | null> {
  const params: Record<string, string | number | null> = { number: subject.number, country: subject.country ?? null, ip: subject.ip ?? null, now };
  for (let i = 0; i < MAX_NUMBER_LENGTH; i++) params[`prefix${i}`] = subject.number.slice(0, i + 1);
  return params;
}
