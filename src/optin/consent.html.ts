import { createHash } from 'node:crypto';
import type { ConsentRecord } from './optin.service.js';

/**
 * The printable consent record: static HTML, no script, no external resource. Every value is
 * escaped; the only style is the inline block below, allowed by its hash in the CSP.
 */
const STYLE =
  'body{font:14px/1.45 system-ui,sans-serif;margin:2rem;color:#111}h1{font-size:1.4rem}table{border-collapse:collapse;width:100%}th,td{border:1px solid #999;padding:.3rem .5rem;text-align:left;vertical-align:top}th{background:#eee}pre{white-space:pre-wrap;margin:0;font:inherit}@media print{body{margin:0}}';

export const CONSENT_CSP = `default-src 'none'; style-src 'sha256-${createHash('sha256').update(STYLE).digest('base64')}'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};
const esc = (value: string | number | null | undefined): string =>
  String(value ?? '').replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);

export function renderConsentHtml(record: ConsentRecord): string {
  const { list, subscriber, trail } = record;
  const rows = trail
    .map(
      (e) =>
        `<tr><td>${esc(e.id)}</td><td>${esc(e.at)}</td><td>${esc(e.type)}</td><td>${esc(e.channel)}</td><td>${esc(e.ip)}<br>${esc(e.userAgent)}</td><td>${esc(e.source)}</td>` +
        `<td>${e.consentText === null ? '' : `<pre>${esc(e.consentText)}</pre><small>version ${esc(e.consentTextVersion)}</small>`}</td>` +
        `<td>${e.text === null ? '' : `<pre>${esc(e.text)}</pre><small>sha256 ${esc(e.textSha256)}</small>`}</td><td><pre>${esc(e.details === null ? '' : JSON.stringify(e.details))}</pre></td></tr>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Consent record ${esc(subscriber.to)} – ${esc(list.name)}</title><style>${STYLE}</style></head>
<body>
<h1>Consent record</h1>
<dl>
<dt>Number</dt><dd>${esc(subscriber.to)}</dd>
<dt>List</dt><dd>${esc(list.name)} (${esc(list.id)}), brand ${esc(list.brand)}, sender ${esc(list.sender)}</dd>
<dt>Status</dt><dd>${esc(subscriber.status)}; requested ${esc(subscriber.requestedAt)}; confirmed ${esc(subscriber.confirmedAt ?? '-')}; unsubscribed ${esc(subscriber.unsubscribedAt ?? '-')}</dd>
<dt>Generated</dt><dd>${esc(record.generatedAt)} from the append-only consent ledger</dd>
</dl>
<table>
<thead><tr><th>#</th><th>Time (UTC)</th><th>Event</th><th>Channel</th><th>IP / user agent</th><th>Source</th><th>Consent text</th><th>Message</th><th>Details</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>
</body></html>
`;
}
