// The README's settings table says what -help says: both come from SETTINGS.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SETTINGS } from '../apps/server/src/config/settings';

const readme = readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');

describe('README', () => {
  it('has the settings table generated from SETTINGS', () => {
    const table = /<!-- settings-table[^>]*-->\n([\s\S]*?)<!-- \/settings-table -->/.exec(readme)?.[1];
    const expected = [
      '| flag | environment variable | default | meaning |',
      '|---|---|---|---|',
      ...SETTINGS.map(
        (s) => `| \`-${s.flag}\` | \`${s.env}\` | ${s.default === undefined ? 'required' : s.default === '' ? 'none' : `\`${s.default}\``} | ${s.description} |`,
      ),
    ].join('\n');
    expect(table?.trim()).toBe(expected);
  });

  it('shows the seed command lines verbatim', () => {
    for (const line of [
      'prombackup-server -listen_address :8080 -prometheus_endpoint http://prometheus:9090 -snapshot_dir /storage/snapshots',
      'prombackup -server http://prombackupserver:8080 create',
      'PROMBACKUP_ENDPOINT=http://prombackupserver:8080 prombackup create -format tgz -output /tmp/mybackup.tar.gz',
      'PROMBACKUP_ENDPOINT=http://prombackupserver:8080 prombackup prune -keep_within 12h',
    ]) {
      expect(readme).toContain(line);
    }
  });
});
