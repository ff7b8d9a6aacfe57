import {
  parsePhoneNumberWithError,
  type CountryCode,
  type NumberType,
} from 'libphonenumber-js/max';
import { DomainError } from './errors.js';

export interface PhoneNumber {
  e164: string;
  country: string | undefined;
  callingCode: string;
  type: NumberType;
}

// Only characters people type in a phone number: digits, one leading plus, spaces, dots, dashes, brackets.
const PHONE_CHARS = /^\+?[0-9 ().-]{4,32}$/;

/**
 * Parses exactly one phone number with libphonenumber-js's full metadata (the default metadata only
 * checks lengths). National formats need a country hint. Text around the number, two numbers,
 * letters or an invalid number all throw DomainError('invalid_phone').
 */
export function parsePhone(input: string, countryHint?: string): PhoneNumber {
  const trimmed = input.trim();
  if (!PHONE_CHARS.test(trimmed)) throw new DomainError('invalid_phone');
  try {
    const parsed = parsePhoneNumberWithError(trimmed, {
      defaultCountry: countryHint as CountryCode | undefined,
      extract: false,
    });
    if (!parsed.isValid()) throw new DomainError('invalid_phone');
    return {
      e164: parsed.number,
      country: parsed.country,
      callingCode: parsed.countryCallingCode,
      type: parsed.getType(),
    };
  } catch (error) {
    if (error instanceof DomainError) throw error;
    throw new DomainError('invalid_phone');
  }
}
