import { describe, expect, it } from 'vitest';
import {
  ipAddress,
  printableText,
  printableTextPattern,
  type PrintableTextOptions,
} from '../../src/http/schema-formats.js';

/**
 * The document publishes a flagless pattern for fields the server checks with `\p{C}` under the `u`
 * flag. A client that validates against the document must never refuse what the server accepts, and
 * should refuse what the server refuses wherever a flagless pattern can say so.
 */
const CASES: { name: string; options: PrintableTextOptions }[] = [
  { name: 'printable text', options: {} },
  { name: 'printable text without `:`', options: { alsoRefuse: ':' } },
];

const UNASSIGNED = /^\p{Cn}$/u;

describe.each(CASES)(
  '$name: what the server checks and what the document publishes',
  ({ options }) => {
    const server = printableText(options);
    const pattern = printableTextPattern(options);
    const flagless = new RegExp(pattern);
    const unicode = new RegExp(pattern, 'u');

    it('is a valid ECMA-262 pattern without flags and with the u flag', () => {
      expect(() => new RegExp(pattern)).not.toThrow();
      expect(() => new RegExp(pattern, 'u')).not.toThrow();
      expect(pattern).not.toMatch(/\/[a-z]*$/);
    });

    it('on every code point: accepts all the server accepts, refuses all it refuses in the BMP, and means the same with or without the u flag', () => {
      const mismatches: string[] = [];
      let astralOnlyServerRefuses = 0;
      for (let cp = 0; cp <= 0x10ffff; cp++) {
        if (cp >= 0xd800 && cp <= 0xdfff) continue;
        const text = String.fromCodePoint(cp);
        const accepted = server.safeParse(text).success;
        const documented = flagless.test(text);
        if (documented !== unicode.test(text))
          mismatches.push(`U+${cp.toString(16)} differs with the u flag`);
        if (accepted && !documented)
          mismatches.push(`U+${cp.toString(16)} accepted by the server, refused by the document`);
        if (!accepted && documented) {
          // Only what a flagless pattern cannot name: astral code points and unassigned ones.
          if (cp <= 0xffff && !UNASSIGNED.test(text))
            mismatches.push(`U+${cp.toString(16)} refused by the server, accepted by the document`);
          else astralOnlyServerRefuses++;
        }
      }
      expect(mismatches).toEqual([]);
      expect(astralOnlyServerRefuses).toBeGreaterThan(0);
    });

    it('refuses lone surrogates, accepts surrogate pairs, whole strings only', () => {
      for (const text of ['\uD800', '\uDFFF', 'a\uDC00b', '\uDBFFx']) {
        expect(server.safeParse(text).success).toBe(false);
        expect(flagless.test(text)).toBe(false);
        expect(unicode.test(text)).toBe(false);
      }
      for (const text of ['alice 🦊', 'Zoë', '用户', 'ACME Bank']) {
        expect(server.safeParse(text).success).toBe(true);
        expect(flagless.test(text)).toBe(true);
        expect(unicode.test(text)).toBe(true);
      }
      for (const text of ['', 'user\u202Eevil', 'tab\there', 'zero\u200Bwidth']) {
        expect(flagless.test(text)).toBe(false);
        expect(unicode.test(text)).toBe(false);
      }
    });
  },
);

describe('ipAddress', () => {
  it('accepts IPv4 and IPv6 and nothing else', () => {
    const ip = ipAddress();
    expect(ip.safeParse('203.0.113.7').success).toBe(true);
    expect(ip.safeParse('2001:db8::1').success).toBe(true);
    expect(ip.safeParse('203.0.113.256').success).toBe(false);
    expect(ip.safeParse('example.com').success).toBe(false);
  });
});
