import { randomInt } from 'node:crypto';

/** An inclusive range of calling numbers the operator owns, E.164 digits without the plus. */
export interface NumberRange {
  start: bigint;
  end: bigint;
  digits: number;
}

export interface FlashCallPlan {
  ranges: NumberRange[];
  /** N: how many trailing digits of the calling number are the code. */
  codeLength: number;
}

/** The longest flash-call code the service draws, even from ranges that would allow more. */
export const MAX_FLASHCALL_CODE_LENGTH = 6;
/** Shorter ranges cannot carry a code worth checking. */
export const MIN_FLASHCALL_CODE_LENGTH = 4;
// crypto.randomInt draws below 2^48.
const MAX_DRAW = 2 ** 48;

/**
 * Parses `+33187000000-+33187999999,+442079460000-+442079469999`. Both ends of a range are E.164
 * numbers of the same length. Returns the problems found (all at once) or the plan.
 *
 * The code is the last N digits of a number drawn uniformly from all the ranges' numbers. Those
 * digits are uniform over the whole code space iff every range's size is a multiple of 10^N (each
 * range is then a whole number of complete cycles of the last N digits), so N is the largest such
 * power of ten common to all ranges, capped at 6.
 */
export function parseFlashCallRanges(
  text: string,
): { plan: FlashCallPlan } | { problems: string[] } {
  const problems: string[] = [];
  const ranges: NumberRange[] = [];
  for (const part of text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const match = /^\+([1-9]\d{6,14})-\+([1-9]\d{6,14})$/.exec(part);
    if (!match?.[1] || !match[2]) {
      problems.push(`"${part}" is not a range of two E.164 numbers like +33187000000-+33187999999`);
      continue;
    }
    const [startText, endText] = [match[1], match[2]];
    const start = BigInt(startText);
    const end = BigInt(endText);
    if (startText.length !== endText.length || end < start) {
      problems.push(`"${part}" must go from a number to a higher number of the same length`);
      continue;
    }
    if (end - start + 1n > BigInt(MAX_DRAW)) {
      problems.push(`"${part}" is larger than 2^48 numbers`);
      continue;
    }
    ranges.push({ start, end, digits: startText.length });
  }
  if (problems.length > 0) return { problems };
  if (ranges.length === 0) return { problems: ['lists no range'] };
  let codeLength = MAX_FLASHCALL_CODE_LENGTH;
  for (const range of ranges) {
    const size = range.end - range.start + 1n;
    let n = 0;
    while (n < MAX_FLASHCALL_CODE_LENGTH && size % 10n ** BigInt(n + 1) === 0n) n += 1;
    codeLength = Math.min(codeLength, n);
  }
  const total = ranges.reduce((sum, r) => sum + (r.end - r.start + 1n), 0n);
  if (total > BigInt(MAX_DRAW))
    return { problems: ['the ranges together are larger than 2^48 numbers'] };
  if (codeLength < MIN_FLASHCALL_CODE_LENGTH) {
    return {
      problems: [
        `give only ${codeLength} random trailing digit(s); every range must hold a multiple of ${10 ** MIN_FLASHCALL_CODE_LENGTH} numbers (e.g. +442079460000-+442079469999) so the code has at least ${MIN_FLASHCALL_CODE_LENGTH} digits`,
      ],
    };
  }
  return { plan: { ranges, codeLength } };
}

export interface DrawnNumber {
  /** The calling number, E.164. */
  from: string;
  /** Its last N digits: the code. */
  code: string;
  /** The digits before the code, E.164 with the plus: what the client shows ("a call from +33 1 87 12 …"). */
  callerIdPrefix: string;
}

/**
 * Draws a calling number uniformly from all the plan's numbers with a CSPRNG. By construction of
 * the plan its last N digits are uniform over 10^N codes.
 */
export function drawCallerNumber(
  plan: FlashCallPlan,
  draw: (maxExclusive: number) => number = randomInt,
): DrawnNumber {
  const total = plan.ranges.reduce((sum, r) => sum + (r.end - r.start + 1n), 0n);
  let offset = BigInt(draw(Number(total)));
  for (const range of plan.ranges) {
    const size = range.end - range.start + 1n;
    if (offset < size) {
      const digits = (range.start + offset).toString().padStart(range.digits, '0');
      return {
        from: `+${digits}`,
        code: digits.slice(-plan.codeLength),
        callerIdPrefix: `+${digits.slice(0, -plan.codeLength)}`,
      };
    }
    offset -= size;
  }
  throw new Error('unreachable: offset beyond the ranges');
}

/**
 * The code in a presented full calling number: when `presented` is E.164 and starts with one of
 * the given caller-ID prefixes followed by exactly N digits, those digits; otherwise undefined.
 */
export function codeFromCallingNumber(
  presented: string,
  prefixes: readonly string[],
  codeLength: number,
): string | undefined {
  const compact = presented.replace(/[\s().-]/g, '');
  if (!/^\+\d{8,15}$/.test(compact)) return undefined;
  for (const prefix of prefixes) {
    if (compact.length === prefix.length + codeLength && compact.startsWith(prefix))
      return compact.slice(prefix.length);
  }
  return undefined;
}
