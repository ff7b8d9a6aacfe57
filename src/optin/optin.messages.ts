import type { ListTemplates } from './optin.store.js';

/**
 * Texts of the opt-in flow. A confirmation request names the brand and the list, says how to
 * confirm (reply YES, or the code on the web), how to opt out, and that rates may apply (CTIA
 * Messaging Principles §5.1.1, TCPA "prior express written consent"). Custom templates may reword
 * them, but must keep {code} and the word STOP in the confirmation request.
 */
export const OPTIN_LOCALES = ['en', 'fr', 'es', 'de', 'uk'] as const;
export type OptinLocale = (typeof OPTIN_LOCALES)[number];

type Required<T> = { [K in keyof T]-?: NonNullable<T[K]> };

const DEFAULTS: Record<OptinLocale, Required<ListTemplates>> = {
  en: {
    confirmation:
      '{brand}: reply YES to join {list}, or enter code {code} on the sign-up page. Reply STOP to opt out, HELP for help. Msg & data rates may apply.',
    stopped:
      '{brand}: you are unsubscribed from all {brand} messages and will receive no more. Reply with a new sign-up to join again.',
    help: '{brand} {list}: help at {contact}. Reply STOP to opt out. Msg & data rates may apply.',
  },
  fr: {
    confirmation:
      "{brand} : répondez OUI pour rejoindre {list}, ou saisissez le code {code} sur la page d'inscription. Répondez STOP pour vous désinscrire, AIDE pour de l'aide. Coût d'un SMS selon votre opérateur.",
    stopped: '{brand} : vous êtes désinscrit de tous les messages {brand} et n’en recevrez plus.',
    help: "{brand} {list} : aide sur {contact}. Répondez STOP pour vous désinscrire. Coût d'un SMS selon votre opérateur.",
  },
  es: {
    confirmation:
      '{brand}: responde SI para unirte a {list}, o introduce el código {code} en la página de registro. Responde STOP para darte de baja, AYUDA para ayuda. Pueden aplicarse tarifas de mensajes y datos.',
    stopped: '{brand}: te has dado de baja de todos los mensajes de {brand} y no recibirás más.',
    help: '{brand} {list}: ayuda en {contact}. Responde STOP para darte de baja. Pueden aplicarse tarifas de mensajes y datos.',
  },
  de: {
    confirmation:
      '{brand}: Antworten Sie JA, um {list} beizutreten, oder geben Sie den Code {code} auf der Anmeldeseite ein. Antworten Sie STOP zum Abmelden, HILFE für Hilfe. Es können Gebühren für SMS und Daten anfallen.',
    stopped:
      '{brand}: Sie sind von allen Nachrichten von {brand} abgemeldet und erhalten keine weiteren.',
    help: '{brand} {list}: Hilfe unter {contact}. Antworten Sie STOP zum Abmelden. Es können Gebühren für SMS und Daten anfallen.',
  },
  uk: {
    confirmation:
      '{brand}: надішліть ТАК, щоб приєднатися до {list}, або введіть код {code} на сторінці реєстрації. Надішліть STOP, щоб відписатися, ДОПОМОГА для довідки. Може стягуватися плата за SMS і дані.',
    stopped: '{brand}: ви відписані від усіх повідомлень {brand} і більше їх не отримуватимете.',
    help: '{brand} {list}: довідка {contact}. Надішліть STOP, щоб відписатися. Може стягуватися плата за SMS і дані.',
  },
};

/** Picks the best supported locale for a BCP 47 tag ("fr-CA" → "fr"), English otherwise. */
export function resolveOptinLocale(tag: string | undefined): OptinLocale {
  const base = (tag ?? 'en').toLowerCase().split(/[-_]/)[0] ?? 'en';
  return (OPTIN_LOCALES as readonly string[]).includes(base) ? (base as OptinLocale) : 'en';
}

export interface MessageContext {
  brand: string;
  list: string;
  code?: string | undefined;
  contact?: string | undefined;
}

/** Fills a template's placeholders ({brand}, {list}, {code}, {contact}) in one pass (a value is never re-expanded). */
function fill(template: string, context: MessageContext): string {
  return template.replace(
    /\{(brand|list|code|contact)\}/g,
    (_, key: keyof MessageContext) => context[key] ?? '',
  );
}

export function renderOptinMessage(
  kind: keyof ListTemplates,
  locale: OptinLocale,
  templates: Record<string, ListTemplates>,
  context: MessageContext,
): string {
  const template = templates[locale]?.[kind] ?? DEFAULTS[locale][kind];
  return fill(template, { ...context, contact: context.contact ?? 'the sign-up page' });
}

/** Problems of a custom confirmation template, if any. */
export function confirmationTemplateProblems(template: string): string[] {
  const problems: string[] = [];
  if (!template.includes('{code}')) problems.push('must contain {code} (web confirmation)');
  if (!/\bSTOP\b/.test(template)) problems.push('must say how to opt out with the word STOP');
  return problems;
}
