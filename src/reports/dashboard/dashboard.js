/* global document, window, sessionStorage, fetch, Chart, URLSearchParams, setInterval, clearInterval */
// The reports dashboard. Every value from the API is written with textContent, never as HTML:
// user agents, rules and app names come from the event record, which attackers write into.
'use strict';

const KEY_STORAGE = 'otp-verify.reportsKey';
const TAIL_EVERY_MS = 5000;
const PALETTE = [
  '#d1495b',
  '#edae49',
  '#00798c',
  '#30638e',
  '#003d5b',
  '#8f2d56',
  '#66a182',
  '#b56576',
  '#6d597a',
  '#355070',
  '#e56b6f',
  '#2a9d8f',
];

const $ = (id) => document.getElementById(id);
const state = { charts: {}, tail: undefined, blocklist: new Map(), blocklistUsable: true };

function key() {
  return sessionStorage.getItem(KEY_STORAGE);
}

class ApiError extends Error {
  constructor(status, body) {
    super((body && (body.title || body.reason)) || `HTTP ${status}`);
    this.status = status;
    this.reason = body && body.reason;
  }
}

async function api(path, init = {}) {
  const headers = {
    authorization: `Bearer ${key()}`,
    accept: 'application/json',
    ...(init.headers || {}),
  };
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(path, {
    ...init,
    headers,
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  if (response.status === 204) return null;
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

function windowQuery(extra = {}) {
  const params = new URLSearchParams({ days: $('days').value, ...extra });
  const country = $('country').value.trim().toUpperCase();
  if (/^[A-Z]{2}$/.test(country)) params.set('country', country);
  return params.toString();
}

function cell(row, text, className) {
  const td = document.createElement('td');
  td.textContent = text === null || text === undefined ? '—' : String(text);
  if (className) td.className = className;
  row.appendChild(td);
  return td;
}

/** Writes each text as a line of its own in the cell. */
function lines(td, texts) {
  if (texts.length > 0)
    td.replaceChildren(
      ...texts.map((text) =>
        Object.assign(document.createElement('span'), { className: 'line', textContent: text }),
      ),
    );
}

function fillTable(id, rows, render) {
  const body = $(id).querySelector('tbody');
  body.replaceChildren();
  for (const item of rows) {
    const tr = document.createElement('tr');
    render(tr, item);
    body.appendChild(tr);
  }
  if (rows.length === 0) {
    const tr = document.createElement('tr');
    const td = cell(tr, 'No data in this window');
    td.colSpan = $(id).querySelectorAll('thead th').length;
    body.appendChild(tr);
  }
}

const percent = (value) =>
  value === null || value === undefined ? '—' : `${(value * 100).toFixed(1)} %`;
const when = (ms) => new Date(ms).toISOString().replace('T', ' ').slice(0, 19);

function drawChart(id, config) {
  if (state.charts[id]) state.charts[id].destroy();
  state.charts[id] = new Chart($(id), config);
}

async function loadFailures() {
  const days = Number($('days').value);
  const groupBy = days <= 7 ? 'hour' : 'day';
  const report = await api(`/v1/reports/failures?${windowQuery({ groupBy, stackBy: 'reason' })}`);
  const buckets = [...new Set(report.groups.map((g) => g.key))].sort();
  const reasons = [...new Set(report.groups.map((g) => g.stack))].sort();
  const datasets = reasons.map((reason, i) => ({
    label: reason,
    backgroundColor: PALETTE[i % PALETTE.length],
    data: buckets.map((bucket) =>
      report.groups
        .filter((g) => g.key === bucket && g.stack === reason)
        .reduce((n, g) => n + g.count, 0),
    ),
  }));
  const labels = buckets.map((b) =>
    groupBy === 'hour' ? b.slice(5, 13).replace('T', ' ') + 'h' : b.slice(0, 10),
  );
  drawChart('failures-chart', {
    type: 'bar',
    data: { labels, datasets },
    options: {
      animation: false,
      maintainAspectRatio: false,
      scales: {
        x: { stacked: true },
        y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } },
      },
    },
  });
  const totals = new Map();
  for (const g of report.groups) totals.set(g.stack, (totals.get(g.stack) || 0) + g.count);
  fillTable(
    'reasons-table',
    [...totals.entries()].sort((a, b) => b[1] - a[1]),
    (tr, [reason, count]) => {
      cell(tr, reason);
      cell(tr, count, 'num');
    },
  );
  return report;
}

async function loadConversion() {
  const report = await api(`/v1/reports/conversion?${windowQuery({ groupBy: 'country' })}`);
  const groups = report.groups.slice(0, 15);
  drawChart('conversion-chart', {
    type: 'bar',
    data: {
      labels: groups.map((g) => g.key || 'unknown'),
      datasets: [
        { label: 'started', backgroundColor: '#30638e', data: groups.map((g) => g.started) },
        { label: 'sent', backgroundColor: '#edae49', data: groups.map((g) => g.sent) },
        { label: 'approved', backgroundColor: '#66a182', data: groups.map((g) => g.approved) },
      ],
    },
    options: {
      animation: false,
      maintainAspectRatio: false,
      scales: { y: { beginAtZero: true, ticks: { precision: 0 } } },
    },
  });
  fillTable('conversion-table', report.groups, (tr, g) => {
    cell(tr, g.key || 'unknown');
    cell(tr, g.started, 'num');
    cell(tr, g.sent, 'num');
    cell(tr, g.approved, 'num');
    cell(tr, percent(g.sendRate), 'num');
    cell(tr, percent(g.conversionRate), 'num');
  });
}

async function loadBlocklist() {
  state.blocklist = new Map();
  try {
    const { entries } = await api('/v1/blocklist?action=block');
    for (const entry of entries) state.blocklist.set(`${entry.kind}:${entry.value}`, entry);
    state.blocklistUsable = true;
    $('blocklist-note').textContent = '';
  } catch (error) {
    state.blocklistUsable = false;
    $('blocklist-note').textContent =
      error.status === 403
        ? 'This key lacks the security scope: block status is read-only.'
        : 'The blocklist API is not available: block status is read-only.';
  }
}

/** The expiry choices of the Block dialog; `never` sends no expiresAt. */
const EXPIRIES = {
  '1h': { ms: 3_600_000, text: 'for 1 hour' },
  '24h': { ms: 86_400_000, text: 'for 24 hours' },
  '7d': { ms: 7 * 86_400_000, text: 'for 7 days' },
  never: { ms: null, text: 'with no expiry' },
};

/**
 * A block is not undone by accident as easily as it is made (legitimate users of a whole prefix
 * are refused at once), so it is confirmed, with an expiry, in a modal dialog. Resolves with the
 * entry's fields, or null when the dialog is cancelled (Cancel, Escape): then nothing is created.
 */
function askBlock(row) {
  const dialog = $('block-dialog');
  const form = $('block-form');
  $('block-target').textContent = `${row.kind} ${row.value}`;
  $('block-reason').value = `abuse dashboard: ${row.failures} failures`;
  form.elements.expiry.value = '24h';
  dialog.returnValue = '';
  return new Promise((resolve) => {
    dialog.addEventListener(
      'close',
      () => {
        const expiry = EXPIRIES[form.elements.expiry.value];
        if (dialog.returnValue !== 'confirm' || !expiry) return resolve(null);
        // The browser's clock: the page has no other. A skew between it and the server's shifts the expiry by as much.
        const expiresAt =
          // eslint-disable-next-line no-restricted-syntax
          expiry.ms === null ? undefined : new Date(Date.now() + expiry.ms).toISOString();
        resolve({ reason: $('block-reason').value.trim(), expiresAt, text: expiry.text });
      },
      { once: true },
    );
    dialog.showModal();
  });
}

async function block(row, choice) {
  try {
    const body = { kind: row.kind, value: row.value, reason: choice.reason, action: 'block' };
    if (choice.expiresAt) body.expiresAt = choice.expiresAt;
    await api('/v1/blocklist', { method: 'POST', body });
    $('status').textContent = `Blocked ${row.kind} ${row.value} ${choice.text}`;
  } catch (error) {
    $('status').textContent = `Could not block ${row.value}: ${error.message}`;
  }
  await loadAbuse();
}

async function unblock(row) {
  const entry = state.blocklist.get(`${row.kind}:${row.value}`);
  try {
    // The exact entry when there is one, else the entry the report says covers the row (e.g. a shorter prefix).
    const id = entry ? entry.id : row.block.entryId;
    if (id) await api(`/v1/blocklist/${encodeURIComponent(id)}`, { method: 'DELETE' });
    $('status').textContent = `Unblocked ${row.kind} ${row.value}`;
  } catch (error) {
    $('status').textContent = `Could not unblock ${row.value}: ${error.message}`;
  }
  await loadAbuse();
}

function blockCell(tr, row) {
  const td = document.createElement('td');
  const local = state.blocklist.get(`${row.kind}:${row.value}`);
  const status = local
    ? 'blocked'
    : state.blocklistUsable && row.block.status === 'unknown'
      ? 'none'
      : row.block.status;
  const badge = document.createElement('span');
  badge.className = `badge ${status}`;
  badge.textContent = status;
  const expiresAt = local ? local.expiresAt && Date.parse(local.expiresAt) : row.block.expiresAt;
  if (status === 'blocked') badge.title = expiresAt ? `until ${when(expiresAt)} UTC` : 'no expiry';
  td.appendChild(badge);
  if (row.kind !== 'number' && state.blocklistUsable) {
    const button = document.createElement('button');
    button.type = 'button';
    const blocked = status === 'blocked';
    button.textContent = blocked ? 'Unblock' : 'Block';
    button.dataset.action = blocked ? 'unblock' : 'block';
    button.dataset.kind = row.kind;
    button.dataset.value = row.value;
    button.addEventListener('click', async () => {
      if (blocked) {
        button.disabled = true;
        await unblock(row);
        return;
      }
      const choice = await askBlock(row);
      if (!choice) return;
      button.disabled = true;
      await block(row, choice);
    });
    td.append(' ', button);
  }
  tr.appendChild(td);
}

async function loadAbuse() {
  const [report] = await Promise.all([
    api(`/v1/reports/abuse?${windowQuery({ limit: '10' })}`),
    loadBlocklist(),
  ]);
  const t = report.totals;
  $('abuse-totals').textContent =
    `${t.started} started, ${t.sent} sent, ${t.approved} approved; estimated wasted sends: ${t.wastedSends}` +
    (t.estimatedCost === null ? '' : ` (cost ≈ ${t.estimatedCost})`) +
    (report.rules.length
      ? `. Rules fired: ${report.rules.map((r) => `${r.rule} (${r.count})`).join(', ')}`
      : '');
  const rows = [...report.prefixes, ...report.ips, ...report.numbers];
  fillTable('abuse-table', rows, (tr, row) => {
    tr.dataset.kind = row.kind;
    tr.dataset.value = row.value;
    cell(tr, row.kind);
    cell(tr, row.value, row.kind === 'ip' ? 'address' : undefined);
    // Beside the value it acts on: visible without scrolling however wide the rules and dates are.
    blockCell(tr, row);
    cell(tr, row.failures, 'num');
    cell(tr, row.started, 'num');
    cell(tr, row.approved, 'num');
    cell(tr, percent(row.conversionRate), 'num');
    cell(tr, row.wastedSends, 'num');
    // One rule a line: as wide as the longest rule, never a rule broken in two.
    lines(
      cell(tr, row.rules.length ? '' : '—'),
      row.rules.map((r) => `${r.rule} ×${r.count}`),
    );
    // To the minute: the seconds of a first sighting tell an operator nothing and cost the table its width.
    lines(
      cell(tr, ''),
      [row.firstAt, row.lastAt].map((ms) => when(ms).slice(0, 16)),
    );
    const td = document.createElement('td');
    const link = document.createElement('a');
    link.href = row.eventsUrl;
    link.textContent = 'events';
    link.addEventListener('click', (event) => {
      event.preventDefault();
      void showEvents(row.eventsUrl);
    });
    td.appendChild(link);
    tr.appendChild(td);
  });
}

async function showEvents(url) {
  const page = await api(`${url}&limit=25`);
  $('status').textContent =
    `Latest events: ${page.events.map((e) => `${when(e.at)} ${e.reason}${e.rule ? ` (${e.rule})` : ''}`).join(' · ') || 'none'}`;
}

async function loadTail() {
  const page = await api(`/v1/events?${windowQuery({ kind: 'failure', limit: '20' })}`);
  fillTable('tail-table', page.events, (tr, e) => {
    cell(tr, when(e.at));
    cell(tr, e.reason);
    cell(tr, e.rule);
    cell(tr, e.app);
    cell(tr, e.country);
    cell(tr, e.number);
    cell(tr, e.ip);
  });
}

async function refresh() {
  $('status').textContent = 'Loading…';
  try {
    const [failures] = await Promise.all([
      loadFailures(),
      loadConversion(),
      loadAbuse(),
      loadTail(),
    ]);
    $('status').textContent =
      `${failures.total} failures from ${when(failures.from)} to ${when(failures.to)} UTC`;
    document.body.dataset.loaded = 'true';
  } catch (error) {
    if (error.status === 401 || error.status === 403) {
      logout(error.status === 401 ? 'The key was refused.' : 'This key lacks the reports scope.');
      return;
    }
    $('status').textContent = `Could not load the reports: ${error.message}`;
  }
}

function showMain() {
  $('login').hidden = true;
  $('main').hidden = false;
  $('controls').hidden = false;
  void refresh();
  clearInterval(state.tail);
  state.tail = setInterval(() => void loadTail().catch(() => undefined), TAIL_EVERY_MS);
}

function logout(message) {
  sessionStorage.removeItem(KEY_STORAGE);
  clearInterval(state.tail);
  $('main').hidden = true;
  $('controls').hidden = true;
  $('login').hidden = false;
  $('login-error').textContent = message || '';
}

window.addEventListener('DOMContentLoaded', () => {
  $('login-form').addEventListener('submit', (event) => {
    event.preventDefault();
    sessionStorage.setItem(KEY_STORAGE, $('key').value.trim());
    $('key').value = '';
    showMain();
  });
  $('logout').addEventListener('click', () => logout());
  $('refresh').addEventListener('click', () => void refresh());
  $('days').addEventListener('change', () => void refresh());
  $('country').addEventListener('change', () => void refresh());
  if (key()) showMain();
});
