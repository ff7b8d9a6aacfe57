import { randomInt } from 'node:crypto';

// French mobile ranges where every number is valid (+3363 and +3369 have unassigned blocks).
const MOBILE_RANGES = ['+3361', '+3362', '+3364', '+3365', '+3366', '+3367', '+3368'];

/** Random French mobile numbers: distinct per start, so per-number limits see one start each. */
export function randomMobile(): string {
  return `${MOBILE_RANGES[randomInt(MOBILE_RANGES.length)]}${String(randomInt(10_000_000)).padStart(7, '0')}`;
}

/** Random end-user addresses (signals.ip): per-IP and per-subnet limits see few starts each. */
export function randomIp(): string {
  return `${randomInt(11, 200)}.${randomInt(256)}.${randomInt(256)}.${randomInt(1, 255)}`;
}
