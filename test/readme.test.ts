// The docs say what the code does: the settings table is generated from SETTINGS (as -help is),
// the README's quick start uses the seed command lines, and no relative link points nowhere.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SETTINGS } from '../apps/server/src/config/settings';

const ROOT = path.join(__dirname, '..');
const read = (file: string): string => readFileSync(path.join(ROOT, file), 'utf8');
const readme = read('README.md');
const DOCS = ['README.md', ...readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

/** Markdown outside fenced code blocks, where links and headings can be. */
function prose(markdown: string): string {
  return markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '');
}

/** GitHub's anchors for a file's headings: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const [, text] of prose(markdown).matchAll(/^#{1,6}[ \t]+(.+?)[ \t#]*$/gm)) {
    const base = text
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

/** Relative link targets of a Markdown file: [text](target), inline code left out. */
function relativeLinks(markdown: string): string[] {
  const text = prose(markdown).replace(/`[^`\n]*`/g, '');
  return [...text.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)]
    .map((m) => m[1])
    .filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target));
}

describe('docs', () => {
  it('have the settings table generated from SETTINGS in docs/configuration.md', () => {
    const page = read('docs/configuration.md');
    const table = /<!-- settings-table[^>]*-->\n([\s\S]*?)<!-- \/settings-table -->/.exec(page)?.[1];
    const expected = [
      '| flag | environment variable | default | meaning |',
      '|---|---|---|---|',
      ...SETTINGS.map(
        (s) => `| \`-${s.flag}\` | \`${s.env}\` | ${s.default === undefined ? 'required' : s.default === '' ? 'none' : `\`${s.default}\``} | ${s.description} |`,
      ),
    ].join('\n');
    expect(table?.trim()).toBe(expected);
  });

  it('show the seed command lines verbatim in the README', () => {
    for (const line of [
      'prombackup-server -listen_address :8080 -prometheus_endpoint http://prometheus:9090 -snapshot_dir /storage/snapshots',
      'prombackup -server http://prombackupserver:8080 create',
      'PROMBACKUP_ENDPOINT=http://prombackupserver:8080 prombackup create -format tgz -output /tmp/mybackup.tar.gz',
      'PROMBACKUP_ENDPOINT=http://prombackupserver:8080 prombackup prune -keep_within 12h',
    ]) {
      expect(readme).toContain(line);
    }
  });

  it.each(DOCS)('%s links only to files and headings that exist', (file) => {
    const broken: string[] = [];
    for (const target of relativeLinks(read(file))) {
      const [pathPart, anchor] = target.split('#', 2) as [string, string | undefined];
      const resolved = pathPart === '' ? path.join(ROOT, file) : path.resolve(path.dirname(path.join(ROOT, file)), decodeURI(pathPart));
      if (!resolved.startsWith(ROOT + path.sep) || !existsSync(resolved)) {
        broken.push(`${target}: no such file`);
        continue;
      }
      if (anchor === undefined || anchor === '') continue;
      if (statSync(resolved).isDirectory() || !resolved.endsWith('.md') || !anchors(readFileSync(resolved, 'utf8')).has(anchor)) {
        broken.push(`${target}: no heading for #${anchor}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('finds a broken link or anchor when there is one', () => {
    const md = '# Title `x`\n\n## A, b & c\n\n[ok](#a-b--c) [ok](#title-x) `[no](nowhere.md)`\n\n```\n[no](fenced.md)\n```\n[x](missing.md) [y](https://example.com)\n';
    expect(relativeLinks(md)).toEqual(['#a-b--c', '#title-x', 'missing.md']);
    expect([...anchors(md)]).toEqual(['title-x', 'a-b--c']);
  });
});
