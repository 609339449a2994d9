import { ARCHIVE_FORMAT_NAMES, ARCHIVE_FORMATS, DEFAULT_KEEP_WITHIN, API_PATHS } from '@prombackup/contract';
import type { DownloadRecord } from '../downloads/download-registry';
import type { SnapshotInfoDto } from '../snapshots/dto/snapshot.dto';

export interface PageModel {
  version: string;
  snapshots: SnapshotInfoDto[];
  downloads: DownloadRecord[];
  notice?: string;
  /** An error to show instead of (or beside) the notice, e.g. a bad keep_within. */
  error?: string;
  /** What the prune field shows: what was typed last, else the default. */
  keepWithin?: string;
}

/** A small icon inline, so browsers do not ask for /favicon.ico. */
export const FAVICON_SVG =
  `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><circle cx="8" cy="8" r="7" fill="#e6522c"/>` +
  `<path d="M4.5 9.5 8 12l3.5-2.5M8 4v8" stroke="#fff" stroke-width="1.6" fill="none" stroke-linecap="round"/></svg>`;

/** The one HTML page: plain forms that work without JavaScript. */
export function renderPage(model: PageModel): string {
  const formatOptions = ARCHIVE_FORMAT_NAMES.map(
    (f, i) => `<option value="${f}"${i === 0 ? ' selected' : ''}>${f} (${ARCHIVE_FORMATS[f].extension})</option>`,
  ).join('');
  // Newest first, like the downloads below.
  const snapshotRows = [...model.snapshots].sort((a, b) => compareDesc(a.created_at ?? '', b.created_at ?? '') || compareDesc(a.name, b.name));
  const snapshots = snapshotRows.length
    ? `<div class="scroll"><table><thead><tr><th>Snapshot</th><th>Taken (UTC)</th><th class="num">Size</th><th>Download as</th></tr></thead><tbody>${snapshotRows
        .map(
          (s) =>
            `<tr><td><code>${esc(s.name)}</code></td><td>${formatTime(s.created_at)}</td><td class="num">${formatBytes(s.size_bytes)}</td><td class="links">${
              s.in_use
                ? '<span class="muted">streaming…</span>'
                : ARCHIVE_FORMAT_NAMES.map(
                    (f) => `<a href=".${API_PATHS.download}?name=${encodeURIComponent(s.name)}&amp;format=${f}">${f}</a>`,
                  ).join(' ')
            }</td></tr>`,
        )
        .join('')}</tbody></table></div>`
    : '<p class="muted">No snapshots on disk.</p>';
  const downloads = model.downloads.length
    ? `<div class="scroll"><table><thead><tr><th>Download (status)</th><th>Snapshot</th><th>Format</th><th class="num">Sent</th><th>Outcome</th></tr></thead><tbody>${model.downloads
        .map(
          (d) =>
            `<tr><td><a href=".${API_PATHS.downloadStatus}?id=${encodeURIComponent(d.id)}"><code>${esc(d.id)}</code></a></td><td><code>${esc(
              d.snapshotName,
            )}</code></td><td>${d.format}</td><td class="num">${formatBytes(d.bytes)}</td><td>${
              d.outcome === null
                ? '<span class="muted">streaming…</span>'
                : d.outcome.success
                  ? '<span class="ok">ok</span>'
                  : `<span class="bad">failed: ${esc(d.outcome.error_text ?? '')}</span>`
            }</td></tr>`,
        )
        .join('')}</tbody></table></div>`
    : '<p class="muted">No downloads in the last 15 minutes.</p>';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>prombackup</title>
<link rel="icon" href="data:image/svg+xml,${encodeURIComponent(FAVICON_SVG)}">
<style>
*,::before,::after{box-sizing:border-box}
body{font-family:system-ui,sans-serif;line-height:1.4;max-width:64rem;margin:2rem auto;padding:0 1rem;color:#1d2330;background:#fafbfc}
h1{font-size:1.5rem;margin:0 0 .2rem}h2{font-size:1.1rem;margin:2rem 0 .7rem;border-bottom:1px solid #dde1e6;padding-bottom:.3rem}
p{margin:.4rem 0}
form{display:flex;gap:.6rem 1.2rem;align-items:center;flex-wrap:wrap;background:#fff;border:1px solid #dde1e6;border-radius:6px;padding:.8rem 1rem}
label{display:inline-flex;align-items:center;gap:.4rem}
button{background:#c63d17;color:#fff;border:0;border-radius:4px;padding:.45rem 1rem;font:inherit;font-weight:600;cursor:pointer}
button:hover,button:focus-visible{background:#a83210}
input[type=text],select{font:inherit;padding:.3rem .4rem;border:1px solid #b8bfc9;border-radius:4px;background:#fff}
input[type=text]{width:6rem}
.hint{font-size:.85rem;color:#6b7380;flex-basis:100%}
.scroll{overflow-x:auto;border:1px solid #dde1e6;border-radius:6px;background:#fff}
table{border-collapse:collapse;width:100%;font-size:.9rem}
td,th{border-bottom:1px solid #e8ebef;padding:.4rem .7rem;text-align:left;vertical-align:baseline;white-space:nowrap}
th{background:#f3f5f7;font-weight:600}tbody tr:last-child td{border-bottom:0}tbody tr:hover{background:#f8f9fb}
.num{text-align:right;font-variant-numeric:tabular-nums}
.links a{margin-right:.5rem}
code{font-size:.85rem}
a{color:#1f5fbf}
.muted{color:#6b7380}.ok{color:#1a7f37;font-weight:600}.bad{color:#b42318;white-space:normal}
.notice{background:#eef6ee;border:1px solid #b7dcb9;padding:.6rem 1rem;border-radius:6px}
.notice.error{background:#fdf0ef;border-color:#f1b8b2;color:#8a1c12}
footer{margin-top:2rem;font-size:.8rem;color:#6b7380}
</style>
</head>
<body>
<h1>prombackup</h1>
<p class="muted">Snapshots of this Prometheus' TSDB, streamed as one archive.</p>
${model.error ? `<p class="notice error" role="alert">${esc(model.error)}</p>` : ''}${model.notice ? `<p class="notice" role="status">${esc(model.notice)}</p>` : ''}
<h2>Take a snapshot and download it</h2>
<form method="post" action=".${API_PATHS.snapshot}">
<label>Format <select name="download_format">${formatOptions}</select></label>
<label><input type="checkbox" name="skip_head" value="true"> Skip head block</label>
<button type="submit">Snapshot and download</button>
<span class="hint">The head block holds the last hours not yet written to disk; skipping it is faster but leaves them out.</span>
</form>
<h2>Prune old snapshots</h2>
<form method="post" action="./prune">
<label>Keep snapshots younger than <input type="text" name="keep_within" value="${esc(model.keepWithin ?? DEFAULT_KEEP_WITHIN)}" size="6" pattern="[0-9.hms]+" title="a duration such as 30m, 12h or 1h30m" aria-label="keep within" required></label>
<button type="submit">Prune</button>
<span class="hint">Removes snapshot folders older than this; never one being downloaded.</span>
</form>
<h2>Snapshots on disk</h2>
${snapshots}
<h2>Recent downloads</h2>
${downloads}
<footer>prombackup-server ${esc(model.version)} · <a href="./docs">API (Swagger UI)</a> · <a href="./metrics">metrics</a></footer>
</body>
</html>
`;
}

function compareDesc(a: string, b: string): number {
  return a < b ? 1 : a > b ? -1 : 0;
}

function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** 2022-11-09T20:20:35.000Z → 2022-11-09 20:20:35, in a <time> element. */
function formatTime(iso: string | null): string {
  if (!iso) return '<span class="muted">?</span>';
  return `<time datetime="${esc(iso)}">${esc(iso.replace('T', ' ').replace(/(\.\d+)?Z$/, ''))}</time>`;
}

function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let value = n;
  while (value >= 1024 && i < units.length - 1) {
    value /= 1024;
    i++;
  }
  return `${i === 0 ? value : value.toFixed(1)} ${units[i]}`;
}
