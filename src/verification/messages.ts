/**
 * Verification message texts. A message says who sends it, the code and how long it is valid,
 * nothing else; with a WebOTP domain it ends with the origin-bound line `@domain #code`
 * (https://wicg.github.io/sms-one-time-codes/).
 */
export const LOCALES = ['en', 'fr', 'es', 'de', 'uk'] as const;
export type Locale = (typeof LOCALES)[number];

interface Template {
  body: (brand: string, code: string, validity: string) => string;
  minutes: (n: number) => string;
}

const plural = (locale: string, forms: Partial<Record<Intl.LDMLPluralRule, string>> & { other: string }) => {
  const rules = new Intl.PluralRules(locale);
  return (n: number): string => `${n} ${forms[rules.select(n)] ?? forms.other}`;
};

const TEMPLATES: Record<Locale, Template> = {
  en: {
    body: (brand, code, validity) => `${brand}: your verification code is ${code}. It expires in ${validity}.`,
    minutes: plural('en', { one: 'minute', other: 'minutes' }),
  },
  fr: {
    body: (brand, code, validity) => `${brand} : votre code de vérification est ${code}. Il expire dans ${validity}.`,
    minutes: plural('fr', { one: 'minute', other: 'minutes' }),
  },
  es: {
    body: (brand, code, validity) => `${brand}: tu código de verificación es ${code}. Caduca en ${validity}.`,
    minutes: plural('es', { one: 'minuto', other: 'minutos' }),
  },
  de: {
    body: (brand, code, validity) => `${brand}: Ihr Bestätigungscode lautet ${code}. Er läuft in ${validity} ab.`,
    minutes: plural('de', { one: 'Minute', other: 'Minuten' }),
  },
  uk: {
    body: (brand, code, validity) => `${brand}: ваш код підтвердження ${code}. Він дійсний ${validity}.`,
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
}

export function renderVerificationMessage(message: VerificationMessage): string {
  const template = TEMPLATES[message.locale];
  const minutes = Math.max(1, Math.floor(message.ttlSeconds / 60));
  const text = template.body(message.brand, message.code, template.minutes(minutes));
  return message.webOtpDomain ? `${text}\n\n@${message.webOtpDomain} #${message.code}` : text;
}
