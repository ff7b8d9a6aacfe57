import { z } from '@hono/zod-openapi';

/**
 * An IPv4 or IPv6 address. zod-to-openapi 9 emits `format: ip` for both branches, which is not a
 * registered format (https://spec.openapis.org/registry/format/), so each branch names its own.
 */
export function ipAddress(): z.ZodUnion<[z.ZodIPv4, z.ZodIPv6]> {
  return z.union([z.ipv4().openapi({ format: 'ipv4' }), z.ipv6().openapi({ format: 'ipv6' })]);
}

/**
 * The code points of `\p{C}` in the Basic Multilingual Plane that a flagless regex can name and that
 * do not move between Unicode versions: controls (Cc), format characters (Cf: bidi overrides, the
 * Trojan Source characters of CVE-2021-42574, zero-width ones, the BOM), surrogates (Cs), private use
 * (Co) and the noncharacters. Written as pattern source, without the `u` flag.
 */
const BMP_OTHER =
  '\\x00-\\x1F\\x7F-\\x9F\\xAD\\u0600-\\u0605\\u061C\\u06DD\\u070F\\u0890\\u0891\\u08E2\\u180E\\u200B-\\u200F\\u202A-\\u202E\\u2060-\\u206F' +
  '\\uD800-\\uDFFF\\uE000-\\uF8FF\\uFDD0-\\uFDEF\\uFEFF\\uFFF9-\\uFFFB\\uFFFE\\uFFFF';

export interface PrintableTextOptions {
  /** Characters refused besides `\p{C}`, as they would be written inside a regex character class. */
  alsoRefuse?: string;
}

/**
 * What the document says of a printable-text string: a flagless ECMA-262 pattern that means the
 * same with and without the `u` flag (JSON Schema validators differ on it). It refuses exactly
 * what the server refuses in the BMP and every lone surrogate, and accepts every well-formed pair:
 * the astral and unassigned code points of `\p{C}` cannot be named without the `u` flag (or only
 * for one Unicode version), so only the server refuses those.
 */
export function printableTextPattern(options: PrintableTextOptions = {}): string {
  return `^(?:[^${BMP_OTHER}${options.alsoRefuse ?? ''}]|[\\uD800-\\uDBFF][\\uDC00-\\uDFFF])+$`;
}

/**
 * Text without control, format, private-use, surrogate or unassigned characters (`\p{C}`). Requests
 * are checked with the `u`-flag regex; zod-to-openapi would copy it into the document with its
 * flag (`/u` at the end of `pattern`), which no validator or generated client can match, so the
 * document gets printableTextPattern instead.
 */
export function printableText(options: PrintableTextOptions = {}): z.ZodString {
  return z
    .string()
    .regex(new RegExp(`^[^\\p{C}${options.alsoRefuse ?? ''}]+$`, 'u'))
    .openapi({ pattern: printableTextPattern(options) });
}
