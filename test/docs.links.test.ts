import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The docs lead a newcomer from the README to every page, so a link that goes nowhere is a dead
 * end. Every relative link in README.md, SECURITY.md, docs/ and bench/ must name a file (or folder)
 * that exists, and a `#fragment` into a Markdown file must name one of its headings as GitHub
 * slugs them (or an explicit id). Offline: nothing is fetched; absolute URLs are not checked.
 */

const ROOT = resolve(import.meta.dirname, '..');

/** The Markdown files whose links are checked, repository-relative with `/` separators. */
function markdownFiles(): string[] {
  const found = ['README.md', 'SECURITY.md'];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory()) {
        if (entry.name !== 'node_modules' && entry.name !== 'results') walk(path);
      } else if (entry.name.endsWith('.md')) {
        found.push(path);
      }
    }
  };
  walk('docs');
  walk('bench');
  return found;
}

export interface Link {
  line: number;
  target: string;
}

/** The Markdown's lines with fenced code blocks blanked (line numbers stay true). */
function outsideFences(markdown: string): string[] {
  let fence: string | undefined;
  return markdown.split('\n').map((line) => {
    const opener = /^\s{0,3}(`{3,}|~{3,})/.exec(line)?.[1];
    if (fence !== undefined) {
      if (
        opener !== undefined &&
        opener[0] === fence[0] &&
        opener.length >= fence.length &&
        line.trim() === opener
      )
        fence = undefined;
      return '';
    }
    if (opener !== undefined) {
      fence = opener;
      return '';
    }
    return line;
  });
}

/** As outsideFences, and inline code spans replaced by spaces of the same length (`[x](y)` in code is no link). */
function proseLines(markdown: string): string[] {
  return outsideFences(markdown).map((line) =>
    line.replace(/(`+)(?:(?!\1).)+?\1/g, (span) => ' '.repeat(span.length)),
  );
}

/** Every link destination of a Markdown text: inline links and images, reference definitions, HTML href/src. */
export function linksOf(markdown: string): Link[] {
  const links: Link[] = [];
  proseLines(markdown).forEach((text, index) => {
    const line = index + 1;
    for (const match of text.matchAll(
      /!?\[(?:[^\]\\]|\\.)*\]\(\s*(<[^>]*>|[^)\s]+)(?:\s+(?:"[^"]*"|'[^']*'))?\s*\)/g,
    )) {
      links.push({ line, target: (match[1] ?? '').replace(/^<|>$/g, '') });
    }
    const definition = /^\s{0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)/.exec(text);
    if (definition) links.push({ line, target: (definition[1] ?? '').replace(/^<|>$/g, '') });
    for (const match of text.matchAll(/\b(?:href|src)\s*=\s*"([^"]*)"/g))
      links.push({ line, target: match[1] ?? '' });
  });
  return links;
}

/** GitHub's heading slug (github-slugger): lower case, punctuation and symbols dropped, spaces to hyphens. */
export function githubSlug(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

/** The text GitHub renders for a heading's Markdown: links to their text, code and HTML tags unwrapped. */
function headingText(markdown: string): string {
  return markdown
    .replace(/!?\[((?:[^\]\\]|\\.)*)\]\([^)]*\)/g, '$1')
    .replace(/<[^>]+>/g, '')
    .replace(/`/g, '')
    .trim();
}

/** Every anchor a Markdown file offers: its headings' slugs (repeats numbered as GitHub does) and explicit ids. */
export function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  const add = (heading: string): void => {
    const base = githubSlug(headingText(heading));
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    anchors.add(count === 0 ? base : `${base}-${count}`);
  };
  const lines = outsideFences(markdown);
  lines.forEach((line, i) => {
    const atx = /^\s{0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$/.exec(line);
    if (atx) add(atx[1] ?? '');
    else if (
      i > 0 &&
      /^\s{0,3}(=+|-+)\s*$/.test(line) &&
      /\S/.test(lines[i - 1] ?? '') &&
      !/^\s*([-*+]\s|\||#)/.test(lines[i - 1] ?? '')
    )
      add(lines[i - 1] ?? '');
    for (const match of line.matchAll(/<a\s[^>]*\b(?:id|name)\s*=\s*"([^"]+)"/g))
      anchors.add(match[1] ?? '');
  });
  return anchors;
}

/** What is wrong with one link of `from` (repository-relative), or undefined when it resolves. */
export function problemWith(
  from: string,
  target: string,
  read: (path: string) => string | undefined,
): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//')) return undefined;
  const hash = target.indexOf('#');
  const pathPart = hash === -1 ? target : target.slice(0, hash);
  const fragment = hash === -1 ? undefined : decodeURIComponent(target.slice(hash + 1));
  const path = decodeURIComponent(pathPart.split('?')[0] ?? '');
  const absolute =
    path === ''
      ? join(ROOT, from)
      : path.startsWith('/')
        ? join(ROOT, path)
        : resolve(ROOT, dirname(from), path);
  const relativePath = relative(ROOT, absolute).split(sep).join('/');
  if (relativePath.startsWith('..')) return `${target}: points outside the repository`;
  const text = read(relativePath);
  if (text === undefined) {
    if (existsSync(absolute))
      return fragment && relativePath.endsWith('.md')
        ? `${target}: not a readable file`
        : undefined;
    return `${target}: ${relativePath} does not exist`;
  }
  if (fragment === undefined || fragment === '' || !relativePath.endsWith('.md')) return undefined;
  return anchorsOf(text).has(fragment)
    ? undefined
    : `${target}: no heading in ${relativePath} has the anchor #${fragment}`;
}

const readRepoFile = (path: string): string | undefined => {
  const absolute = join(ROOT, path);
  return existsSync(absolute) && statSync(absolute).isFile()
    ? readFileSync(absolute, 'utf8')
    : undefined;
};

describe('relative links in the docs', () => {
  const files = markdownFiles();

  it('checks the README, SECURITY.md, every page in docs/ and bench/', () => {
    expect(files).toEqual(
      expect.arrayContaining([
        'README.md',
        'SECURITY.md',
        'docs/README.md',
        'docs/api.md',
        'bench/README.md',
      ]),
    );
  });

  it.each(files)('%s: every relative link and anchor resolves', (file) => {
    const broken = linksOf(readFileSync(join(ROOT, file), 'utf8'))
      .map((link) => ({ line: link.line, problem: problemWith(file, link.target, readRepoFile) }))
      .filter((found) => found.problem !== undefined)
      .map((found) => `${file}:${found.line}: ${found.problem}`);
    expect(broken).toEqual([]);
  });

  it('the docs index links every page in docs/', () => {
    const index = readFileSync(join(ROOT, 'docs/README.md'), 'utf8');
    const linked = new Set(linksOf(index).map((link) => link.target.split('#')[0]));
    const pages = files
      .filter((f) => f.startsWith('docs/') && f !== 'docs/README.md')
      .map((f) => f.slice('docs/'.length));
    expect(pages.filter((page) => !linked.has(page))).toEqual([]);
  });

  it('the README stays a front page: at most 300 lines', () => {
    expect(
      readFileSync(join(ROOT, 'README.md'), 'utf8').trimEnd().split('\n').length,
    ).toBeLessThanOrEqual(300);
  });
});

describe('the link checker itself', () => {
  const files: Record<string, string> = {
    'docs/a.md':
      '# Title\n\n## Client address and TRUST_PROXY\n\n## Routes (API key scope `optin`)\n\n## Repeat\n\n## Repeat\n\n<a id="custom"></a>\n',
    'README.md': '# Read me\n',
  };
  const read = (path: string): string | undefined => files[path];

  it('slugs headings as GitHub does', () => {
    expect(githubSlug('Client address and TRUST_PROXY')).toBe('client-address-and-trust_proxy');
    expect(githubSlug('Routes (API key scope optin)')).toBe('routes-api-key-scope-optin');
    expect(githubSlug('Hardening: hostile input, faults, crashes and secrets')).toBe(
      'hardening-hostile-input-faults-crashes-and-secrets',
    );
    expect(githubSlug('A — B')).toBe('a--b');
    expect([...anchorsOf(files['docs/a.md'] ?? '')]).toEqual([
      'title',
      'client-address-and-trust_proxy',
      'routes-api-key-scope-optin',
      'repeat',
      'repeat-1',
      'custom',
    ]);
  });

  it('accepts links that resolve, absolute URLs and arriving files', () => {
    expect(problemWith('README.md', 'docs/a.md#routes-api-key-scope-optin', read)).toBeUndefined();
    expect(problemWith('docs/a.md', '../README.md', read)).toBeUndefined();
    expect(problemWith('docs/a.md', '#repeat-1', read)).toBeUndefined();
    expect(problemWith('docs/a.md', '#custom', read)).toBeUndefined();
    expect(problemWith('README.md', 'https://example.com/missing.md', read)).toBeUndefined();
    expect(problemWith('README.md', 'mailto:security@example.com', read)).toBeUndefined();
  });

  it('reports a missing file, a missing anchor and a link out of the repository', () => {
    expect(problemWith('README.md', 'docs/nope.md', read)).toMatch(/docs\/nope\.md does not exist/);
    expect(problemWith('README.md', 'docs/a.md#repeat-2', read)).toMatch(/no heading .* #repeat-2/);
    expect(problemWith('docs/a.md', '#Title', read)).toMatch(/#Title/);
    expect(problemWith('README.md', '../outside.md', read)).toMatch(/outside the repository/);
  });

  it('finds inline links, images, reference definitions and HTML links, but not links inside code', () => {
    const markdown = [
      '[a](one.md) and ![b](two.png "title")',
      '`[not](code.md)`',
      '```',
      '[not](fenced.md)',
      '```',
      '[ref]: three.md',
      '<img src="four.png">',
    ].join('\n');
    expect(linksOf(markdown)).toEqual([
      { line: 1, target: 'one.md' },
      { line: 1, target: 'two.png' },
      { line: 6, target: 'three.md' },
      { line: 7, target: 'four.png' },
    ]);
  });
});
