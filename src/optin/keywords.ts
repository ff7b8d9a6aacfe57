/**
 * Reply keywords. A reply is a keyword only when it is the whole message, after trimming, Unicode
 * normalisation (NFC), upper-casing and dropping trailing punctuation: "Stop." and " yes! " are
 * keywords, "stop sending me this" is not (CTIA Messaging Principles; carriers match whole words).
 * Keep docs/optin.md's table in sync.
 */
export type Keyword = 'confirm' | 'stop' | 'help';

export const KEYWORDS: Record<Keyword, readonly string[]> = {
  confirm: [
    'YES',
    'Y',
    'START',
    'CONFIRM',
    'OUI',
    'SI',
    'SÍ',
    'JA',
    'TAK',
    'ТАК',
    'ДА',
    'SIM',
    'DA',
  ],
  stop: [
    'STOP',
    'STOPALL',
    'UNSUBSCRIBE',
    'CANCEL',
    'END',
    'QUIT',
    'OPTOUT',
    'REVOKE',
    'ARRET',
    'ARRÊT',
    'DESABONNER',
    'DÉSABONNER',
    'BAJA',
    'PARAR',
    'STOPP',
    'ABMELDEN',
    'СТОП',
    'ВІДПИСАТИСЯ',
  ],
  help: ['HELP', 'INFO', 'AIDE', 'AYUDA', 'HILFE', 'AIUTO', 'ДОПОМОГА'],
};

const LOOKUP = new Map<string, Keyword>(
  (Object.entries(KEYWORDS) as [Keyword, readonly string[]][]).flatMap(([keyword, words]) =>
    words.map((w) => [w, keyword] as const),
  ),
);

/** The keyword a reply is, or undefined when it is anything else. */
export function parseKeyword(body: string): Keyword | undefined {
  const word = body
    .normalize('NFC')
    .trim()
    .replace(/[\s.!?,;:]+$/u, '')
    .toUpperCase();
  return LOOKUP.get(word);
}
