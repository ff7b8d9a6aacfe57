/**
 * Verification message texts. A message says who sends it, the code and how long it is valid,
 * nothing else; with a WebOTP domain it ends with the origin-bound line `@domain #code`
 * (https://wicg.github.io/sms-one-time-codes/).
 */
export const LOCALES = ['en', 'fr', 'es', 'de', 'uk'] as const;
export type Locale = (typeof LOCALES)[number];

interface Template {
  body: (brand: string, code: string, validity: string) => string;
  /** What a transaction code approves, then the code: the person must be able to see what they confirm. */
  transaction: (
    brand: string,
    code: string,
    validity: string,
    amount: string,
    payee: string,
  ) => string;
  minutes: (n: number) => string;
}

const plural = (
  locale: string,
  forms: Partial<Record<Intl.LDMLPluralRule, string>> & { other: string },
) => {
  const rules = new Intl.PluralRules(locale);
  return (n: number): string => `${n} ${forms[rules.select(n)] ?? forms.other}`;
};

const TEMPLATES: Record<Locale, Template> = {
  en: {
    body: (brand, code, validity) =>
      `${brand}: your verification code is ${code}. It expires in ${validity}.`,
    transaction: (brand, code, validity, amount, payee) =>
      `${brand}: approve a transfer of ${amount} to ${payee}: code ${code}. It expires in ${validity}. Never share it.`,
    minutes: plural('en', { one: 'minute', other: 'minutes' }),
  },
  fr: {
    body: (brand, code, validity) =>
      `${brand} : votre code de vérification est ${code}. Il expire dans ${validity}.`,
    transaction: (brand, code, validity, amount, payee) =>
      `${brand} : validez un virement de ${amount} à ${payee} : code ${code}. Il expire dans ${validity}. Ne le partagez jamais.`,
    minutes: plural('fr', { one: 'minute', other: 'minutes' }),
  },
  es: {
    body: (brand, code, validity) =>
      `${brand}: tu código de verificación es ${code}. Caduca en ${validity}.`,
    transaction: (brand, code, validity, amount, payee) =>
      `${brand}: aprueba una transferencia de ${amount} a ${payee}: código ${code}. Caduca en ${validity}. No lo compartas nunca.`,
    minutes: plural('es', { one: 'minuto', other: 'minutos' }),
  },
  de: {
    body: (brand, code, validity) =>
      `${brand}: Ihr Bestätigungscode lautet ${code}. Er läuft in ${validity} ab.`,
    transaction: (brand, code, validity, amount, payee) =>
      `${brand}: Überweisung von ${amount} an ${payee} freigeben: Code ${code}. Er läuft in ${validity} ab. Geben Sie ihn nie weiter.`,
    minutes: plural('de', { one: 'Minute', other: 'Minuten' }),
  },
  uk: {
    body: (brand, code, validity) =>
      `${brand}: ваш код підтвердження ${code}. Він дійсний ${validity}.`,
    transaction: (brand, code, validity, amount, payee) =>
      `${brand}: підтвердіть переказ ${amount} на користь ${payee}: код ${code}. Він дійсний ${validity}. Нікому його не повідомляйте.`,
    minutes: plural('uk', { one: 'хвилину', few: 'хвилини', many: 'хвилин', other: 'хвилини' }),
  },
};

/** Picks the best supported locale for a BCP 47 tag ("fr-CA" → "fr"), English otherwise. */
export function resolveLocale(tag: string | undefined): Locale {
  const base = (tag ?? 'en').toLowerCase().split(/[-_]/)[0];
  return (LOCALES as readonly string[]).includes(base ?? '') ? (base as Locale) : 'en';
}

export interface VerificationMessage {
  locale: Locale;
  brand: string;
  code: string;
  ttlSeconds: number;
  webOtpDomain?: string | undefined;
  /**
   * An Android SMS Retriever app hash: on a line of its own after the text, so the app can read the
   * code without asking for SMS permission (before the WebOTP line, which must be the last).
   */
  appHash?: string | undefined;
  /** The transaction the code approves; the message then says what is approved. */
  transaction?: { amount: string; currency: string; payee: string } | undefined;
}

export function renderVerificationMessage(message: VerificationMessage): string {
  const template = TEMPLATES[message.locale];
  const minutes = Math.max(1, Math.floor(message.ttlSeconds / 60));
  const validity = template.minutes(minutes);
  const tx = message.transaction;
  const text = tx
    ? template.transaction(
        message.brand,
        message.code,
        validity,
        `${tx.currency} ${tx.amount}`,
        tx.payee,
      )
    : template.body(message.brand, message.code, validity);
  const body = message.appHash ? `${text}\n\n${message.appHash}` : text;
  return message.webOtpDomain ? `${body}\n\n@${message.webOtpDomain} #${message.code}` : body;
}
