import fs from 'node:fs/promises';
import path from 'node:path';
import { replaceFileAtomically } from './atomic-replace';

/** One run of a backup job, as --metrics-file records it. */
export interface RunRecord {
  success: boolean;
  /** When the run ended, in milliseconds since the epoch. */
  endedAt: number;
  seconds: number;
  /** Archive bytes received (0 when it failed before any). */
  bytes: number;
}

const LAST_SUCCESS = 'prombackup_cli_last_success_timestamp_seconds';

/**
 * Why `file` cannot be a node_exporter textfile, or undefined. Checked before any snapshot is
 * taken, so that a typo does not cost a backup whose result nobody will see.
 */
export async function metricsFileProblem(file: string): Promise<string | undefined> {
  if (!file.endsWith('.prom')) return `--metrics-file must end in .prom (node_exporter's textfile collector reads only those), not ${JSON.stringify(file)}`;
  const folder = path.dirname(path.resolve(file));
  const stats = await fs.stat(folder).catch(() => undefined);
  if (!stats?.isDirectory()) return `--metrics-file: folder ${folder} does not exist`;
  return undefined;
}

/**
 * Writes the run's outcome in node_exporter's textfile format, atomically: a temporary file in
 * the same folder (a name the collector ignores) renamed over the old one, so a scrape never
 * reads half a file. The time of the last success is carried over from the previous file when
 * this run failed: that is the number an alert on a missed backup needs.
 */
export async function writeMetricsFile(file: string, run: RunRecord): Promise<void> {
  const previous = await fs.readFile(file, 'utf8').catch(() => '');
  const carried = Number(new RegExp(`^${LAST_SUCCESS} (\\S+)$`, 'm').exec(previous)?.[1] ?? 0);
  const lastSuccess = run.success ? run.endedAt / 1000 : Number.isFinite(carried) ? carried : 0;
  const text = [
    gauge(LAST_SUCCESS, 'When a prombackup backup run last succeeded (0: never, as far as this file knows).', lastSuccess),
    gauge('prombackup_cli_last_run_timestamp_seconds', 'When the last prombackup backup run ended.', run.endedAt / 1000),
    gauge('prombackup_cli_last_run_success', 'Whether the last prombackup backup run succeeded (1) or failed (0).', run.success ? 1 : 0),
    gauge('prombackup_cli_last_run_duration_seconds', 'How long the last prombackup backup run took.', run.seconds),
    gauge('prombackup_cli_last_run_bytes', 'Archive bytes the last prombackup backup run received.', run.bytes),
  ].join('');
  await replaceFileAtomically(file, text);
}

function gauge(name: string, help: string, value: number): string {
  return `# HELP ${name} ${help}\n# TYPE ${name} gauge\n${name} ${Number.isInteger(value) ? value : value.toFixed(3)}\n`;
}
