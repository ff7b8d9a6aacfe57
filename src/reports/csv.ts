/**
 * RFC 4180 CSV. Cells a spreadsheet would run as a formula (starting with =, @, -, tab, CR, or + not
 * followed only by digits) get a leading apostrophe (OWASP "CSV Injection"); E.164 prefixes such as
 * `+3361234` stay as they are.
 */
function cell(value: string | number | boolean | null | undefined): string {
  if (value === null || value === undefined) return '';
  let text = String(value);
  if (/^[=@\t\r-]/.test(text) || /^\+(?!\d+$)/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** A CSV document with a header row, CRLF line ends as RFC 4180 says. */
export function toCsv(
  columns: readonly string[],
  rows: readonly Record<string, string | number | boolean | null | undefined>[],
): string {
  const lines = [
    columns.map(cell).join(','),
    ...rows.map((row) => columns.map((column) => cell(row[column])).join(',')),
  ];
  return `${lines.join('\r\n')}\r\n`;
}
