import { API_PATHS, ARCHIVE_FORMAT_NAMES, formatBytes, formatDuration } from '@prombackup/contract';
import type { DownloadRecord } from '../downloads/download-registry';
import type { SnapshotInfoDto } from '../snapshots/dto/snapshot.dto';
import type { SnapshotUsageReport } from '../snapshots/snapshot-usage';

/** What the server knows of its surroundings, for the state section. */
export interface ServerState {
  /** "ok" or what is wrong, per readiness check. */
  checks: Record<string, string>;
  adminApi: boolean | undefined;
  autoprune: { intervalMs: number; keepWithinMs: number } | undefined;
}

/** The state of Prometheus, its admin API, snapshot_dir and autoprune, as label and value pairs. */
export function renderState(state: ServerState): string {
  const check = (name: string) => {
    const result = state.checks[name] ?? 'ok';
    return result === 'ok' ? '<span class="ok">ok</span>' : `<span class="bad">${esc(result)}</span>`;
  };
  const rows: [string, string][] = [
    ['Prometheus', check('prometheus')],
    ['Admin API', state.adminApi === undefined ? '<span class="muted">unknown</span>' : state.adminApi ? '<span class="ok">on</span>' : '<span class="bad">off: start Prometheus with --web.enable-admin-api</span>'],
    ['Snapshot folder', check('snapshot_dir')],
    ['Autoprune', state.autoprune ? `every ${formatDuration(state.autoprune.intervalMs)}, keeping ${formatDuration(state.autoprune.keepWithinMs)}` : '<span class="muted">off</span>'],
  ];
  if (state.checks.shutdown) rows.push(['Server', `<span class="bad">${esc(state.checks.shutdown)}</span>`]);
  return `<dl class="state">${rows.map(([label, value]) => `<div><dt>${label}</dt><dd>${value}</dd></div>`).join('')}</dl>`;
}

/**
 * The snapshots on disk. A snapshot's files are hard links, mostly to blocks Prometheus still
 * has: "only here" is what removing it would free, and the summary counts every file once.
 */
export function renderSnapshots(snapshots: SnapshotInfoDto[], usage: SnapshotUsageReport | undefined): string {
  if (snapshots.length === 0) return '<p class="muted">No snapshots on disk.</p>';
  const rows = [...snapshots].sort((a, b) => compareDesc(a.created_at ?? '', b.created_at ?? '') || compareDesc(a.name, b.name));
  const summary = usage
    ? `<p>${snapshots.length} snapshot(s), holding ${formatBytes(usage.exclusiveBytes)} that Prometheus itself no longer has (shared files counted once).</p>`
    : '';
  const body = rows
    .map((s) => {
      const only = usage?.sizes.get(s.name)?.uniqueBytes;
      const links = s.in_use
        ? '<span class="muted">streaming…</span>'
        : ARCHIVE_FORMAT_NAMES.map((f) => `<a href=".${API_PATHS.download}?name=${encodeURIComponent(s.name)}&amp;format=${f}">${f}</a>`).join(' ');
      return (
        `<tr><td data-label="Snapshot"><code>${esc(s.name)}</code></td><td data-label="Taken (UTC)">${formatTime(s.created_at)}</td>` +
        `<td class="num" data-label="Archive size">${formatBytes(s.size_bytes)}</td>` +
        `<td class="num" data-label="Only here">${only === undefined ? '<span class="muted">?</span>' : formatBytes(only)}</td>` +
        `<td class="links" data-label="Download as">${links}</td></tr>`
      );
    })
    .join('');
  return (
    summary +
    `<div class="scroll"><table class="cards"><thead><tr><th>Snapshot</th><th>Taken (UTC)</th><th class="num" title="Bytes of its files: what an archive holds">Archive size</th>` +
    `<th class="num" title="Bytes that removing it frees: files no other snapshot and not Prometheus link to">Only here</th><th>Download as</th></tr></thead><tbody>${body}</tbody></table></div>`
  );
}

/** Recent downloads: when each started, how long it took, what it sent and the SHA-256 of that. */
export function renderDownloads(downloads: DownloadRecord[], now: number): string {
  if (downloads.length === 0) return '<p class="muted">No downloads in the last 15 minutes.</p>';
  const body = downloads
    .map((d) => {
      const took = formatDuration(Math.round(((d.finishedAt ?? now) - d.startedAt) / 100) * 100);
      const verdict =
        d.outcome === null
          ? `<span class="muted">streaming for ${took}…</span>`
          : d.outcome.success
            ? '<span class="ok">ok</span>'
            : `<span class="bad">failed: ${esc(d.outcome.error_text ?? '')}</span>`;
      // The SHA-256 of what was sent, to compare with the file a browser saved.
      const outcome = d.outcome?.sha256_hex ? `${verdict}<br><code class="hash" title="SHA-256 of the bytes sent">${esc(d.outcome.sha256_hex)}</code>` : verdict;
      return (
        `<tr><td data-label="Download (status)"><a href=".${API_PATHS.downloadStatus}?id=${encodeURIComponent(d.id)}"><code>${esc(d.id)}</code></a></td>` +
        `<td data-label="Snapshot"><code>${esc(d.snapshotName)}</code></td><td data-label="Format">${d.format}</td>` +
        `<td data-label="Started (UTC)">${formatTime(new Date(d.startedAt).toISOString())}</td>` +
        `<td class="num" data-label="Took">${d.outcome === null ? '<span class="muted">…</span>' : took}</td>` +
        `<td class="num" data-label="Sent">${formatBytes(d.bytes)}</td><td data-label="Outcome, SHA-256">${outcome}</td></tr>`
      );
    })
    .join('');
  return (
    `<div class="scroll"><table class="cards"><thead><tr><th>Download (status)</th><th>Snapshot</th><th>Format</th><th>Started (UTC)</th>` +
    `<th class="num">Took</th><th class="num">Sent</th><th>Outcome, SHA-256</th></tr></thead><tbody>${body}</tbody></table></div>`
  );
}

function compareDesc(a: string, b: string): number {
  return a < b ? 1 : a > b ? -1 : 0;
}

export function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** 2022-11-09T20:20:35.000Z → 2022-11-09 20:20:35, in a <time> element. */
function formatTime(iso: string | null): string {
  if (!iso) return '<span class="muted">?</span>';
  return `<time datetime="${esc(iso)}">${esc(iso.replace('T', ' ').replace(/(\.\d+)?Z$/, ''))}</time>`;
}
