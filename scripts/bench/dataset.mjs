// Builds (or reuses) a realistic Prometheus TSDB of a given size: node-exporter-like OpenMetrics
// text is generated window by window and backfilled with promtool, one TSDB block per window,
// until the blocks add up to the target size. The result is cached under the cache folder,
// keyed by its parameters, and marked complete by dataset.json.

import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { buildSeries, writeOpenMetrics } from './openmetrics.mjs';
import { run, log, fmtBytes, fmtSecs, registerCleanup, memAvailable } from './util.mjs';

const HOUR = 3600;
const STEP = 15;
const DATASET_VERSION = 2;

/** Sum of regular file sizes and the file count under dir. */
export async function treeSize(dir) {
  let bytes = 0;
  let files = 0;
  const walk = async (d) => {
    for (const e of await fsp.readdir(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) {
        bytes += (await fsp.stat(p)).size;
        files++;
      }
    }
  };
  await walk(dir);
  return { bytes, files };
}

const ULID_RE = /^[0-9A-HJKMNP-TV-Z]{26}$/;

export async function listBlocks(dataDir) {
  const out = [];
  for (const e of await fsp.readdir(dataDir, { withFileTypes: true })) {
    if (e.isDirectory() && ULID_RE.test(e.name) && fs.existsSync(path.join(dataDir, e.name, 'meta.json'))) {
      out.push({ name: e.name, ...(await treeSize(path.join(dataDir, e.name))) });
    }
  }
  return out;
}

/**
 * The windows to backfill, newest first: a few small recent blocks (2h, 6h, 18h, as a live
 * Prometheus has before compaction), then blocks of `blockHours` going back in time forever.
 * Every window is aligned to its own duration, which is what promtool needs to write exactly
 * one block per window.
 */
function* windows(blockHours, nowSec) {
  const big = blockHours * HOUR;
  const anchor = Math.floor((nowSec - 26 * HOUR) / big) * big; // multiple of 54h, 18h, 6h, 2h
  if (big % (18 * HOUR) === 0) {
    yield { start: anchor + 24 * HOUR, end: anchor + 26 * HOUR };
    yield { start: anchor + 18 * HOUR, end: anchor + 24 * HOUR };
    yield { start: anchor, end: anchor + 18 * HOUR };
  }
  for (let end = anchor; ; end -= big) yield { start: end - big, end };
}

/**
 * Returns { dataDir, ...stats } of a cached TSDB of at least sizeBytes, building it if needed.
 */
export async function ensureDataset({ cacheDir, sizeGb, series, blockHours, jobs }) {
  const key = `tsdb-${String(sizeGb).replace('.', 'p')}gb-s${series}-b${blockHours}h-v${DATASET_VERSION}`;
  const dir = path.join(cacheDir, key);
  const dataDir = path.join(dir, 'data');
  const marker = path.join(dir, 'dataset.json');
  if (fs.existsSync(marker)) {
    const info = JSON.parse(fs.readFileSync(marker, 'utf8'));
    log(`dataset: reusing ${dir} (${fmtBytes(info.bytes)} in ${info.blocks} blocks, built in ${fmtSecs(info.buildSeconds)})`);
    return { dir, dataDir, key, reused: true, ...info };
  }
  if (fs.existsSync(dir)) {
    log(`dataset: ${dir} is incomplete (no dataset.json); removing it and starting over`);
    await fsp.rm(dir, { recursive: true, force: true });
  }
  await fsp.mkdir(dataDir, { recursive: true });

  const target = Math.round(sizeGb * 1e9);
  const seriesSet = buildSeries(series, 42);
  const hosts = new Set(seriesSet.map((s) => /instance="([^"]+)"/.exec(s[0])[1])).size;
  const bigSamples = seriesSet.length * ((blockHours * HOUR) / STEP);
  // Text files go to /dev/shm when it has room for those in flight, else beside the dataset.
  const textBytes = bigSamples * 125;
  const shmFree = (() => {
    try {
      const s = fs.statfsSync('/dev/shm');
      return s.bavail * s.bsize;
    } catch {
      return 0;
    }
  })();
  const inFlight = jobs + 1;
  const textDir =
    shmFree > textBytes * inFlight + 2e9 && memAvailable() > textBytes * inFlight + 4e9
      ? fs.mkdtempSync('/dev/shm/prombackup-bench-')
      : fs.mkdtempSync(path.join(dir, 'text-'));
  const tmpDir = path.join(dir, 'tmp');
  fs.mkdirSync(tmpDir, { recursive: true });
  const removeText = () => {
    fs.rmSync(textDir, { recursive: true, force: true });
    fs.rmSync(tmpDir, { recursive: true, force: true });
  };
  const unregister = registerCleanup(removeText);

  log(
    `dataset: building ~${fmtBytes(target)} TSDB in ${dataDir}: ${seriesSet.length} series from ${hosts} node-exporter-like hosts, ` +
      `${STEP}s scrape interval, ${blockHours}h blocks (~${(bigSamples / 1e6).toFixed(1)}M samples, ~${fmtBytes(textBytes)} of OpenMetrics text each); ` +
      `${jobs} promtool job(s) in parallel with generation; text in ${textDir}`,
  );
  const started = process.hrtime.bigint();
  let doneBytes = 0;
  let doneSamples = 0;
  let genSeconds = 0;
  let promtoolSeconds = 0;
  let bytesPerSample = 3; // first guess; refined from finished blocks
  const running = new Set();
  const inflightSamples = new Map();
  const errors = [];

  const seen = new Set();
  const backfill = async (file, samples, w) => {
    const t0 = process.hrtime.bigint();
    // promtool keeps its in-progress head under TMPDIR; keep that inside the dataset folder so
    // an interrupted build leaves nothing behind in /tmp.
    const res = await run('promtool', ['tsdb', 'create-blocks-from', 'openmetrics', '--quiet', `--max-block-duration=${blockHours}h`, file, dataDir], {
      env: { ...process.env, TMPDIR: tmpDir },
    });
    promtoolSeconds += Number(process.hrtime.bigint() - t0) / 1e9;
    await fsp.rm(file, { force: true });
    if (res.code !== 0) throw new Error(`promtool failed (exit ${res.code}): ${res.stderr.slice(-2000)}`);
    // Jobs finish in any order: find this window's block by its time range.
    const all = await listBlocks(dataDir);
    let bytes = 0;
    for (const b of all) {
      if (seen.has(b.name)) continue;
      const meta = JSON.parse(await fsp.readFile(path.join(dataDir, b.name, 'meta.json'), 'utf8'));
      if (meta.minTime >= w.start * 1000 && meta.minTime < w.end * 1000) {
        seen.add(b.name);
        bytes += b.bytes;
      }
    }
    doneBytes = all.reduce((a, b) => a + b.bytes, 0);
    doneSamples += samples;
    bytesPerSample = doneBytes / doneSamples;
    log(
      `  block ${new Date(w.start * 1000).toISOString().slice(0, 16)}..${new Date(w.end * 1000).toISOString().slice(0, 16)}: ` +
        `${(samples / 1e6).toFixed(1)}M samples -> ${fmtBytes(bytes)} (${(bytes / samples).toFixed(2)} B/sample); total ${fmtBytes(doneBytes)} of ${fmtBytes(target)}`,
    );
  };

  try {
    let i = 0;
    for (const w of windows(blockHours, Math.floor(Date.now() / 1000))) {
      while (running.size >= jobs) await Promise.race(running);
      if (errors.length) throw errors[0];
      const pending = [...inflightSamples.values()].reduce((a, b) => a + b, 0) * bytesPerSample;
      const missing = target - doneBytes - pending;
      if (missing <= 0) break;
      // The oldest block only covers as much time as the target still needs (in 2h steps, 3%
      // extra for the estimate), so the dataset ends near its target instead of a block beyond.
      const needHours = Math.ceil(((missing * 1.03) / bytesPerSample / seriesSet.length) * STEP / HOUR / 2) * 2;
      if (needHours * HOUR < w.end - w.start) w.start = w.end - Math.max(2, needHours) * HOUR;
      const file = path.join(textDir, `window-${i++}.om`);
      const t0 = process.hrtime.bigint();
      const samples = await writeOpenMetrics(file, seriesSet, { startSec: w.start, endSec: w.end, stepSec: STEP, seed: 42 });
      genSeconds += Number(process.hrtime.bigint() - t0) / 1e9;
      inflightSamples.set(file, samples);
      const p = backfill(file, samples, w)
        .catch((e) => errors.push(e))
        .finally(() => {
          running.delete(p);
          inflightSamples.delete(file);
        });
      running.add(p);
    }
    await Promise.all(running);
    if (errors.length) throw errors[0];
  } finally {
    removeText();
    unregister();
  }
  // Block files must be on disk before timing anything, or write-back competes with the benchmark.
  await run('sync', []);
  const blocks = await listBlocks(dataDir);
  const total = await treeSize(dataDir);
  const info = {
    version: DATASET_VERSION,
    sizeGb,
    series: seriesSet.length,
    hosts,
    stepSeconds: STEP,
    blockHours,
    blocks: blocks.length,
    files: total.files,
    bytes: total.bytes,
    samples: doneSamples,
    bytesPerSample: total.bytes / doneSamples,
    buildSeconds: Number(process.hrtime.bigint() - started) / 1e9,
    generateSeconds: genSeconds,
    promtoolSeconds,
    builtAt: new Date().toISOString(),
  };
  fs.writeFileSync(marker, JSON.stringify(info, null, 2) + '\n');
  log(
    `dataset: built ${fmtBytes(info.bytes)} in ${info.blocks} blocks (${info.files} files, ${(doneSamples / 1e6).toFixed(0)}M samples, ` +
      `${info.bytesPerSample.toFixed(2)} B/sample) in ${fmtSecs(info.buildSeconds)} (generation ${fmtSecs(genSeconds)}, promtool ${fmtSecs(promtoolSeconds)} summed over jobs)`,
  );
  return { dir, dataDir, key, reused: false, ...info };
}
