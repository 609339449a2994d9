import { type Kind, LOG_FORMATS, LOG_LEVELS, SETTINGS } from './settings';

/** The text -help prints: every setting with its variable and default. */
export function helpText(version: string): string {
  const lines = [
    `prombackup-server ${version}: streams Prometheus TSDB snapshots as tar, tar.gz or tar.zst archives.`,
    '',
    'Usage: prombackup-server -snapshot_dir DIR [flags]',
    '',
    'Every flag can also be set by its environment variable; the flag wins.',
    '',
  ];
  for (const def of SETTINGS) {
    lines.push(`  -${def.flag} ${kindHint(def.kind)}`);
    lines.push(`        ${def.description}`);
    lines.push(`        env ${def.env}, ${def.default === undefined ? 'required' : `default ${JSON.stringify(def.default)}`}`);
  }
  lines.push('  -help', '        Print this help and exit.', '  -version', '        Print the version and exit.');
  return lines.join('\n') + '\n';
}

function kindHint(kind: Kind): string {
  const hints: Record<Kind, string> = {
    address: 'HOST:PORT',
    url: 'URL',
    path: 'DIR',
    file: 'FILE',
    boolean: '',
    duration: 'DURATION',
    'positive-int': 'N',
    'log-level': LOG_LEVELS.join('|'),
    'log-format': LOG_FORMATS.join('|'),
  };
  return hints[kind];
}
