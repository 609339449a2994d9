import { ARCHIVE_FORMAT_NAMES, ARCHIVE_FORMATS, DEFAULT_KEEP_WITHIN, API_PATHS } from '@prombackup/contract';
import type { DownloadRecord } from '../downloads/download-registry';
import type { SnapshotInfoDto } from '../snapshots/dto/snapshot.dto';
import type { SnapshotUsageReport } from '../snapshots/snapshot-usage';
import { type ServerState, esc, renderDownloads, renderSnapshots, renderState } from './page-sections';

export interface PageModel {
  version: string;
  snapshots: SnapshotInfoDto[];
  /** Sizes that count hard-linked files once; undefined when the disk could not be walked. */
  usage: SnapshotUsageReport | undefined;
  downloads: DownloadRecord[];
  state: ServerState;
  /** For the running time of downloads still streaming. */
  now: number;
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
  const snapshots = renderSnapshots(model.snapshots, model.usage);
  const downloads = renderDownloads(model.downloads, model.now);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>prombackup</title>
<link rel="icon" href="data:image/svg+xml,${encodeURIComponent(FAVICON_SVG)}">
<style>
*,::before,::after{box-sizing:border-box}
body{font-family:system-ui,sans-serif;line-height:1.4;max-width:76rem;margin:2rem auto;padding:0 1rem;color:#1d2330;background:#fafbfc}
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
code.hash{display:inline-block;max-width:10rem;font-size:.75rem;word-break:break-all;white-space:normal;color:#4a5260}
.state{display:grid;grid-template-columns:repeat(auto-fit,minmax(14rem,1fr));gap:.5rem 1.5rem;margin:0;background:#fff;border:1px solid #dde1e6;border-radius:6px;padding:.7rem 1rem}
.state dt{font-size:.8rem;color:#6b7380}.state dd{margin:0;overflow-wrap:anywhere}
@media (max-width:48rem){
body{margin:1rem auto}
.scroll{overflow-x:visible;border:0;background:none}
table.cards,table.cards tbody,table.cards tr,table.cards td{display:block;width:100%}
table.cards thead{display:none}
table.cards tr{background:#fff;border:1px solid #dde1e6;border-radius:6px;margin-bottom:.6rem;padding:.3rem 0}
table.cards td{border:0;padding:.15rem .8rem;white-space:normal;overflow-wrap:anywhere;text-align:left}
table.cards td::before{content:attr(data-label);display:block;font-size:.75rem;color:#6b7380}
}
</style>
</head>
<body>
<h1>prombackup</h1>
<p class="muted">Snapshots of this Prometheus' TSDB, streamed as one archive.</p>
${model.error ? `<p class="notice error" role="alert">${esc(model.error)}</p>` : ''}${model.notice ? `<p class="notice" role="status">${esc(model.notice)}</p>` : ''}
<h2>State</h2>
${renderState(model.state)}
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
