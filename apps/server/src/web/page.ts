import { ARCHIVE_FORMAT_NAMES, ARCHIVE_FORMATS, DEFAULT_KEEP_WITHIN, API_PATHS } from '@prombackup/contract';
import type { DownloadRecord } from '../downloads/download-registry';
import type { SnapshotInfoDto } from '../snapshots/dto/snapshot.dto';

export interface PageModel {
  version: string;
  snapshots: SnapshotInfoDto[];
  downloads: DownloadRecord[];
  notice?: string;
}

/** The one HTML page: plain forms that work without JavaScript. */
export function renderPage(model: PageModel): string {
  const formatOptions = ARCHIVE_FORMAT_NAMES.map(
    (f, i) => `<option value="${f}"${i === 0 ? ' selected' : ''}>${f} (${ARCHIVE_FORMATS[f].extension})</option>`,
  ).join('');
  const snapshots = model.snapshots.length
    ? `<table><thead><tr><th>Snapshot</th><th>Taken</th><th>Size</th><th></th></tr></thead><tbody>${model.snapshots
        .map(
          (s) =>
            `<tr><td><code>${esc(s.name)}</code></td><td>${esc(s.created_at ?? '?')}</td><td>${formatBytes(s.size_bytes)}</td><td>${
              s.in_use ? 'streaming' : ARCHIVE_FORMAT_NAMES.map((f) => `<a href=".${API_PATHS.download}?name=${encodeURIComponent(s.name)}&amp;format=${f}">${f}</a>`).join(' ')
            }</td></tr>`,
        )
        .join('')}</tbody></table>`
    : '<p class="muted">No snapshots on disk.</p>';
  const downloads = model.downloads.length
    ? `<table><thead><tr><th>Download</th><th>Snapshot</th><th>Format</th><th>Outcome</th></tr></thead><tbody>${model.downloads
        .map(
          (d) =>
            `<tr><td><a href=".${API_PATHS.downloadStatus}?id=${encodeURIComponent(d.id)}"><code>${esc(d.id)}</code></a></td><td><code>${esc(
              d.snapshotName,
            )}</code></td><td>${d.format}</td><td>${
              d.outcome === null ? 'streaming…' : d.outcome.success ? '<span class="ok">ok</span>' : `<span class="bad">failed: ${esc(d.outcome.error_text ?? '')}</span>`
            }</td></tr>`,
        )
        .join('')}</tbody></table>`
    : '<p class="muted">No downloads in the last 15 minutes.</p>';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>prombackup</title>
<style>
body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1d2330;background:#fafbfc}
h1{font-size:1.5rem;margin-bottom:.2rem}h2{font-size:1.1rem;margin-top:2rem;border-bottom:1px solid #dde1e6;padding-bottom:.3rem}
form{display:flex;gap:.8rem;align-items:center;flex-wrap:wrap;background:#fff;border:1px solid #dde1e6;border-radius:6px;padding:.8rem 1rem}
button{background:#e6522c;color:#fff;border:0;border-radius:4px;padding:.45rem 1rem;font-weight:600;cursor:pointer}
input[type=text],select{padding:.35rem;border:1px solid #b8bfc9;border-radius:4px}
table{border-collapse:collapse;width:100%;background:#fff;font-size:.9rem}td,th{border-bottom:1px solid #e8ebef;padding:.35rem .5rem;text-align:left}
.muted{color:#6b7380}.ok{color:#1a7f37;font-weight:600}.bad{color:#b42318}.notice{background:#eef6ee;border:1px solid #b7dcb9;padding:.6rem 1rem;border-radius:6px}
footer{margin-top:2rem;font-size:.8rem;color:#6b7380}
</style>
</head>
<body>
<h1>prombackup</h1>
<p class="muted">Snapshots of this Prometheus' TSDB, streamed as one archive.</p>
${model.notice ? `<p class="notice" role="status">${esc(model.notice)}</p>` : ''}
<h2>Take a snapshot and download it</h2>
<form method="post" action=".${API_PATHS.snapshot}">
<label>Format <select name="download_format">${formatOptions}</select></label>
<label><input type="checkbox" name="skip_head" value="true"> Skip head block</label>
<button type="submit">Snapshot and download</button>
</form>
<h2>Prune old snapshots</h2>
<form method="post" action="./prune">
<label>Keep snapshots younger than <input type="text" name="keep_within" value="${DEFAULT_KEEP_WITHIN}" size="6" pattern="[0-9.hms]+" aria-label="keep within"></label>
<button type="submit">Prune</button>
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

function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
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
