#!/usr/bin/env node
// Streaming benchmark for prombackup: our server's tar / tgz / tzst downloads and the CLI,
// side by side with the shell pipelines they must keep up with, on a realistic TSDB snapshot.
//
//   npm run bench                      # build, then 1 GB dataset, 3 runs, every group
//   npm run bench -- --quick           # 0.3 GB, 1 run, no level-6 rows: to try it out
//   node scripts/bench.mjs --size-gb 2.5 --runs 5 --only tar,tzst
//   node scripts/bench.mjs --help
//
// It is a benchmark, not a test: it exits 0 when a target is missed (non-zero only when it
// cannot run at all) and prints PASS/FAIL per target. Results also go to
// <cache-dir>/last-results.json and, as Markdown, to the end of standard output.
//
// What it does:
//  1. makes or reuses (cached, keyed by size) a TSDB built by backfilling generated
//     node-exporter-like OpenMetrics text with promtool (scripts/bench/dataset.mjs);
//  2. starts Prometheus on it (admin API, loopback, no scraping, no compaction) and the built
//     server beside it, and takes a real snapshot through the server;
//  3. warms the page cache with one read of every file;
//  4. runs each group (tar, tzst, tgz, rss, cli, sync, restore): a warm-up pass, then --runs rounds in which the
//     reference pipelines and our rows alternate; context rows run --context-runs times;
//  5. prints a table, the targets with PASS/FAIL, notes on anything that made numbers shaky,
//     and a Markdown version; stops everything it started (also on Ctrl-C).
//
// Throughput is always INPUT bytes (the sum of the snapshot's file sizes) per wall-clock second,
// MB = 10^6 bytes, for references and our rows alike, so compressed and uncompressed rows compare.

import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureDataset, listBlocks, treeSize } from './bench/dataset.mjs';
import { measureLevels } from './bench/levels.mjs';
import { groupSync, syncRowNote, syncTargets } from './bench/sync.mjs';
import { groupRestore } from './bench/restore.mjs';
import {
  cliCommand,
  fmtBytes,
  fmtSecs,
  installSignalHandlers,
  isInterrupted,
  loadAvg,
  log,
  measureShell,
  median,
  memAvailable,
  procMem,
  registerCleanup,
  resetPeakRss,
  run,
  shq,
  spawnTracked,
  stopChild,
  systemCpu,
  which,
  elapsed,
} from './bench/util.mjs';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const GROUPS = ['tar', 'tzst', 'tgz', 'rss', 'cli', 'sync', 'restore'];
// Groups run only when --only names them: every compression level takes a while.
const EXTRA_GROUPS = ['levels'];
const MB = 1e6;

// ---------------------------------------------------------------------------------------------
// Options

const OPTIONS = [
  ['size-gb', 'BENCH_SIZE_GB', '1', 'Dataset size in GB (10^9 bytes); the TSDB is built once per size and cached.'],
  ['runs', 'BENCH_RUNS', '3', 'Measured rounds per target row (the median is reported); a warm-up round comes first.'],
  ['context-runs', 'BENCH_CONTEXT_RUNS', '1', 'Rounds for context rows that have no target (gzip, Node in process, level 6, ...).'],
  ['cache-dir', 'BENCH_CACHE_DIR', '.bench-cache', 'Where datasets, logs and last-results.json live (relative to the repo root).'],
  ['only', 'BENCH_ONLY', GROUPS.join(','), `Groups to run, comma separated: ${[...GROUPS, ...EXTRA_GROUPS].join(', ')} (levels: peak RSS and /healthz at every compression level, one and --concurrency downloads).`],
  ['level-seconds', 'BENCH_LEVEL_SECONDS', '15', 'The levels group cuts each download off after this many seconds.'],
  ['level-formats', 'BENCH_LEVEL_FORMATS', 'tgz,tzst', 'Formats whose every level the levels group measures.'],
  ['quick', 'BENCH_QUICK', 'false', 'Try-out mode: --size-gb 0.3 --runs 1, no level-6 rows, RSS rows for tar and tzst only.'],
  ['slow', 'BENCH_SLOW', 'true', 'Include the slow gzip level-6 context rows (gzip -6, pigz -6, Node zlib 6, ours level 6).'],
  ['series', 'BENCH_SERIES', '4000', 'Series in the generated dataset (about 150 per node-exporter host).'],
  ['block-hours', 'BENCH_BLOCK_HOURS', '54', 'Duration of the backfilled blocks (promtool rounds to 2h, 6h, 18h, 54h, 162h, ...).'],
  ['jobs', 'BENCH_JOBS', '2', 'promtool processes running beside the generator while building a dataset.'],
  ['small-gb', 'BENCH_SMALL_GB', '0.5', 'Size of the small snapshot for the RSS comparison (hard links to the real blocks).'],
  ['large-gb', 'BENCH_LARGE_GB', '5', 'Size of the large snapshot for the RSS comparison (the real blocks hard-linked repeatedly).'],
  ['rss-formats', 'BENCH_RSS_FORMATS', 'tar,tgz,tzst', 'Formats downloaded from the small and the large snapshot.'],
  ['concurrent-formats', 'BENCH_CONCURRENT_FORMATS', 'tar,tgz,tzst', 'Formats downloaded concurrently.'],
  ['concurrency', 'BENCH_CONCURRENCY', '4', 'Concurrent downloads in the concurrency rows.'],
  ['slow-client-mbps', 'BENCH_SLOW_CLIENT_MBPS', '100', 'Rate limit (MB/s) of the slow-client RSS row (backpressure check); 0 skips it.'],
  ['warmups', 'BENCH_WARMUPS', '3', 'Untimed tar downloads that warm up every fresh server instance before it is measured, until V8 has optimized the streaming code (the first downloads of a fresh instance are measured on their own, as context rows).'],
  ['quiet-wait', 'BENCH_QUIET_WAIT', '20', 'Before each run, wait up to this many seconds for the rest of the machine to use less than --quiet-cores (0: never wait).'],
  ['quiet-cores', 'BENCH_QUIET_CORES', '0.3', 'CPU cores that other processes may use before a run starts (see --quiet-wait).'],
  ['nice', 'BENCH_NICE', '0', "Set this session's scheduler autogroup to nice N while it runs (e.g. -10 as root on a shared box, so other sessions' work takes less CPU from the measurements)."],
  ['keep-snapshot', 'BENCH_KEEP_SNAPSHOT', 'false', 'Leave the snapshot folders in place at the end.'],
];

function usage() {
  const lines = ['usage: node scripts/bench.mjs [--flag value | --flag=value]...', '', 'flags (and environment variables):'];
  for (const [flag, env, def, text] of OPTIONS) lines.push(`  --${flag.padEnd(20)} ${env.padEnd(26)} default ${def}\n      ${text}`);
  lines.push('', 'Booleans take --flag, --no-flag or --flag=true|false.');
  return lines.join('\n');
}

function parseOptions(argv, env) {
  const raw = {};
  const given = new Set();
  for (const [flag, envName, def] of OPTIONS) {
    raw[flag] = def;
    if (env[envName] !== undefined && env[envName] !== '') {
      raw[flag] = env[envName];
      given.add(flag);
    }
  }
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i];
    if (arg === '-h' || arg === '--help' || arg === '-help') {
      console.log(usage());
      process.exit(0);
    }
    const m = /^--?(no-)?([a-z0-9-]+)(?:=(.*))?$/.exec(arg);
    const def = m && OPTIONS.find((o) => o[0] === m[2]);
    if (!def) {
      console.error(`unknown argument ${arg}\n\n${usage()}`);
      process.exit(2);
    }
    const isBool = def[2] === 'true' || def[2] === 'false';
    let value = m[3];
    if (m[1]) value = 'false';
    else if (value === undefined) value = isBool ? 'true' : argv[++i];
    if (value === undefined) {
      console.error(`--${m[2]} needs a value`);
      process.exit(2);
    }
    raw[m[2]] = value;
    given.add(m[2]);
  }
  const bool = (k) => /^(1|t|true|yes|on)$/i.test(String(raw[k]));
  const num = (k) => {
    const n = Number(raw[k]);
    if (!Number.isFinite(n) || n < 0) {
      console.error(`--${k} must be a non-negative number, not ${raw[k]}`);
      process.exit(2);
    }
    return n;
  };
  const list = (k, allowed) => {
    const v = String(raw[k]).split(',').map((s) => s.trim()).filter(Boolean);
    const bad = v.filter((x) => !allowed.includes(x));
    if (bad.length) {
      console.error(`--${k}: unknown ${bad.join(', ')} (choose from ${allowed.join(', ')})`);
      process.exit(2);
    }
    return v;
  };
  const quick = bool('quick');
  const o = {
    quick,
    sizeGb: quick && !given.has('size-gb') ? 0.3 : num('size-gb'),
    runs: Math.max(1, Math.round(quick && !given.has('runs') ? 1 : num('runs'))),
    contextRuns: Math.max(1, Math.round(num('context-runs'))),
    cacheDir: path.resolve(REPO, String(raw['cache-dir'])),
    only: list('only', [...GROUPS, ...EXTRA_GROUPS]),
    levelSeconds: Math.max(1, num('level-seconds')),
    levelFormats: list('level-formats', ['tgz', 'tzst']),
    slow: quick && !given.has('slow') ? false : bool('slow'),
    series: Math.round(num('series')),
    blockHours: num('block-hours'),
    jobs: Math.max(1, Math.round(num('jobs'))),
    smallGb: num('small-gb'),
    largeGb: num('large-gb'),
    rssFormats: quick && !given.has('rss-formats') ? ['tar', 'tzst'] : list('rss-formats', ['tar', 'tgz', 'tzst']),
    concurrentFormats: list('concurrent-formats', ['tar', 'tgz', 'tzst']),
    concurrency: Math.max(2, Math.round(num('concurrency'))),
    slowClientMBps: num('slow-client-mbps'),
    keepSnapshot: bool('keep-snapshot'),
    warmups: Math.round(num('warmups')),
    quietWait: num('quiet-wait'),
    nice: Math.round(Number(raw.nice)) || 0,
    quietCores: num('quiet-cores'),
  };
  if (o.sizeGb < 0.05) {
    console.error('--size-gb must be at least 0.05');
    process.exit(2);
  }
  return o;
}

// ---------------------------------------------------------------------------------------------
// Small helpers

const freePort = () =>
  new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitHttp(url, child, logFile, what, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) break;
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.ok) return;
    } catch {
      // not yet
    }
    await sleep(250);
  }
  const tail = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').split('\n').slice(-30).join('\n') : '';
  throw new Error(`${what} did not become ready at ${url}; last lines of ${logFile}:\n${tail}`);
}

function snapshotTimestamp(d = new Date()) {
  return d.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
function fakeUlid() {
  let t = Date.now();
  let time = '';
  for (let i = 0; i < 10; i++) {
    time = CROCKFORD[t % 32] + time;
    t = Math.floor(t / 32);
  }
  const rand = [...crypto.randomBytes(16)].map((b) => CROCKFORD[b % 32]).join('');
  return time + rand;
}

async function linkTree(src, dst) {
  await fsp.mkdir(dst, { recursive: true });
  for (const e of await fsp.readdir(src, { withFileTypes: true })) {
    const s = path.join(src, e.name);
    const d = path.join(dst, e.name);
    if (e.isDirectory()) await linkTree(s, d);
    else if (e.isFile()) await fsp.link(s, d);
  }
}

/** Short SHA-256 over the server's and the contract library's compiled JavaScript. */
function buildHash(serverDist, contractDist) {
  const h = crypto.createHash('sha256');
  const walk = (base, d = base) => {
    if (!fs.existsSync(d)) return;
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(base, p);
      else if (p.endsWith('.js')) h.update(path.relative(base, p)).update(fs.readFileSync(p));
    }
  };
  walk(serverDist);
  walk(contractDist);
  return h.digest('hex').slice(0, 12);
}
const repoBuildHash = () => buildHash(path.join(REPO, 'apps/server/dist'), path.join(REPO, 'libs/contract/dist'));

const pct = (x) => (x == null ? '-' : `${(x * 100).toFixed(0)}%`);
const fx = (x, d = 2) => (x == null || Number.isNaN(x) ? '-' : x.toFixed(d));

// ---------------------------------------------------------------------------------------------
// The benchmark

class Bench {
  constructor(opts) {
    this.o = opts;
    this.rows = new Map();
    this.notes = [];
    this.meta = {};
    this.snapshotsToRemove = new Set();
  }

  note(text) {
    if (!this.notes.includes(text)) this.notes.push(text);
    log(`note: ${text}`);
  }

  row(id, props) {
    if (!this.rows.has(id)) this.rows.set(id, { id, runs: [], warmup: [], ...props });
    return this.rows.get(id);
  }

  // --- setup ----------------------------------------------------------------------------------

  async checkTools() {
    const need = ['prometheus', 'promtool', 'tar', 'openssl', 'zstd', 'gzip', 'curl', 'bash', 'find', 'xargs', 'wc', 'tee'];
    const missing = need.filter((t) => !which(t));
    if (missing.length) throw new Error(`missing tools: ${missing.join(', ')} (apt-get install -y prometheus zstd curl)`);
    this.hasPigz = !!which('pigz');
    if (!this.hasPigz) {
      if (process.getuid?.() === 0) {
        log('pigz is missing; installing it with apt-get (running as root)');
        let r = await run('apt-get', ['install', '-y', '-qq', 'pigz'], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
        if (r.code !== 0) {
          await run('apt-get', ['update', '-qq']);
          r = await run('apt-get', ['install', '-y', '-qq', 'pigz'], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
        }
        this.hasPigz = !!which('pigz');
      }
      if (!this.hasPigz) this.note('pigz is not installed (and could not be installed: not root or apt failed): the pigz rows and the tgz target are skipped. Install it with `apt-get install -y pigz`.');
    }
    for (const f of ['apps/server/dist/main.js', 'apps/cli/dist/commands/create.js']) {
      if (!fs.existsSync(path.join(REPO, f))) throw new Error(`${f} is missing: run \`npm run build\` first (npm run bench does)`);
    }
    const version = async (cmd, args) => ((await run(cmd, args)).stdout + '').split('\n')[0].trim();
    this.meta.tools = {
      node: process.version,
      prometheus: await version('prometheus', ['--version']),
      tar: await version('tar', ['--version']),
      openssl: await version('openssl', ['version']),
      zstd: await version('zstd', ['--version']),
      gzip: await version('gzip', ['--version']),
      pigz: this.hasPigz ? (await run('pigz', ['--version'])).stderr.trim() || (await version('pigz', ['--version'])) : null,
      curl: await version('curl', ['--version']),
    };
    const git = await run('git', ['-C', REPO, 'rev-parse', '--short', 'HEAD']);
    const dirty = await run('git', ['-C', REPO, 'status', '--porcelain', '--', 'apps', 'libs']);
    const distTime = fs.statSync(path.join(REPO, 'apps/server/dist/main.js')).mtime;
    let newestSrc = 0;
    const walk = (d) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        const p = path.join(d, e.name);
        if (e.isDirectory()) walk(p);
        else if (!p.endsWith('.spec.ts')) newestSrc = Math.max(newestSrc, fs.statSync(p).mtimeMs);
      }
    };
    walk(path.join(REPO, 'apps/server/src'));
    const serverDist = path.join(REPO, 'apps/server/dist');
    let newestDist = 0;
    const walkDist = (d) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        const p = path.join(d, e.name);
        if (e.isDirectory()) walkDist(p);
        else if (p.endsWith('.js')) newestDist = Math.max(newestDist, fs.statSync(p).mtimeMs);
      }
    };
    walkDist(serverDist);
    this.meta.build = {
      commit: git.stdout.trim(),
      uncommittedFilesInAppsLibs: dirty.stdout.split('\n').filter(Boolean).length,
      serverDistNewest: new Date(newestDist || distTime).toISOString(),
      serverSrcNewest: new Date(newestSrc).toISOString(),
    };
    if (newestSrc > newestDist + 1000) {
      this.note(`apps/server/src has changes newer than apps/server/dist (${this.meta.build.serverSrcNewest} > ${this.meta.build.serverDistNewest}): the measured server is the last build, not the working tree.`);
    }
  }

  /**
   * Copies the built server and CLI (with the workspace libraries they load) under the cache
   * folder and runs them from there, so a rebuild by someone else halfway through the benchmark
   * cannot make different rows measure different builds. Third-party packages still resolve
   * from the repository's node_modules (Node walks up from the copy).
   */
  freezeBuild() {
    const dir = path.join(this.o.cacheDir, 'build');
    fs.rmSync(dir, { recursive: true, force: true });
    const copy = (from, to = from) => fs.cpSync(path.join(REPO, from), path.join(dir, to), { recursive: true, dereference: true });
    copy('package.json');
    for (const app of ['apps/server', 'apps/cli']) for (const p of ['package.json', 'bin', 'dist']) copy(`${app}/${p}`);
    for (const lib of ['contract', 'client']) for (const p of ['package.json', 'dist']) copy(`libs/${lib}/${p}`, `node_modules/@prombackup/${lib}/${p}`);
    this.buildDir = dir;
    this.meta.build.serverBuildHash = buildHash(path.join(dir, 'apps/server/dist'), path.join(dir, 'node_modules/@prombackup/contract/dist'));
    log(`froze the current build (server+contract dist ${this.meta.build.serverBuildHash}) in ${dir}`);
  }

  /**
   * With autogroup scheduling (Linux default), `nice` only ranks processes inside one session;
   * sessions share the CPU equally. The session's own nice value is what competes with other
   * people's work, so that is what --nice sets (and restores at exit).
   */
  setAutogroupNice(n) {
    const file = '/proc/self/autogroup';
    try {
      const before = /nice\s+(-?\d+)/.exec(fs.readFileSync(file, 'utf8'))?.[1];
      fs.writeFileSync(file, String(n));
      this.meta.autogroupNice = n;
      registerCleanup(() => before !== undefined && fs.writeFileSync(file, before));
      log(`autogroup nice set to ${n} (was ${before})`);
    } catch (err) {
      this.note(`--nice ${n} had no effect: cannot write ${file} (${err.code ?? err.message}; needs root for negative values and CONFIG_SCHED_AUTOGROUP).`);
    }
  }

  machineInfo() {
    const cpus = os.cpus();
    this.meta.machine = {
      cpus: cpus.length,
      cpuModel: cpus[0]?.model,
      memTotal: os.totalmem(),
      memAvailable: memAvailable(),
      kernel: os.release(),
      loadAvgAtStart: loadAvg(),
    };
    const la = this.meta.machine.loadAvgAtStart[0];
    log(`machine: ${cpus.length} x ${cpus[0]?.model}, ${fmtBytes(os.totalmem())} RAM (${fmtBytes(memAvailable())} available), load ${loadAvg().join(' ')}`);
    if (la > cpus.length * 0.3) {
      this.note(`load average was ${la} on ${cpus.length} cores when the benchmark started: other work competes for CPU; see the "other" column.`);
    }
  }

  async startPrometheus(dataDir) {
    const snapshots = path.join(dataDir, 'snapshots');
    if (fs.existsSync(snapshots)) {
      // Leftovers of earlier runs of this benchmark (the cache is ours).
      for (const e of await fsp.readdir(snapshots)) await fsp.rm(path.join(snapshots, e), { recursive: true, force: true });
    }
    const port = await freePort();
    const cfg = path.join(this.o.cacheDir, 'prometheus.yml');
    fs.writeFileSync(cfg, '# written by scripts/bench.mjs: no scraping, the TSDB is backfilled\nglobal:\n  scrape_interval: 15s\nscrape_configs: []\n');
    const logFile = path.join(this.o.cacheDir, 'prometheus.log');
    const out = fs.openSync(logFile, 'w');
    const args = [
      `--config.file=${cfg}`,
      `--storage.tsdb.path=${dataDir}`,
      '--storage.tsdb.retention.time=100y',
      // Equal min and max block durations switch compaction off: it would otherwise rewrite the
      // backfilled blocks in the background while we measure.
      '--storage.tsdb.min-block-duration=2h',
      '--storage.tsdb.max-block-duration=2h',
      `--web.listen-address=127.0.0.1:${port}`,
      '--web.enable-admin-api',
    ];
    log(`starting Prometheus on 127.0.0.1:${port} (data ${dataDir}, log ${logFile})`);
    this.prom = spawnTracked('prometheus', args, { stdio: ['ignore', out, out] });
    fs.closeSync(out);
    this.promUrl = `http://127.0.0.1:${port}`;
    await waitHttp(`${this.promUrl}/-/ready`, this.prom, logFile, 'Prometheus');
    this.snapshotsDir = snapshots;
  }

  async startServer({ quiet = false } = {}) {
    const port = await freePort();
    const logFile = path.join(this.o.cacheDir, 'server.log');
    const out = fs.openSync(logFile, quiet ? 'a' : 'w');
    const args = [
      '-listen_address',
      `127.0.0.1:${port}`,
      '-prometheus_endpoint',
      this.promUrl,
      '-snapshot_dir',
      this.snapshotsDir,
    ];
    if (this.o.concurrency > 4) args.push('-max_concurrent_downloads', String(this.o.concurrency));
    if (!quiet) log(`starting the server on 127.0.0.1:${port} (log ${logFile})`);
    // Through the script's #! line, as npm's link and the container image start it (memory tuning included).
    this.server = spawnTracked(path.join(this.buildDir, 'apps/server/bin/prombackup-server.js'), args, { stdio: ['ignore', out, out], cwd: REPO });
    fs.closeSync(out);
    this.serverUrl = `http://127.0.0.1:${port}`;
    try {
      await waitHttp(`${this.serverUrl}/healthz`, this.server, logFile, 'prombackup-server', 60_000);
    } catch (err) {
      // An older build without /healthz: any answer on / will do.
      await waitHttp(`${this.serverUrl}/`, this.server, logFile, 'prombackup-server', 5_000).catch(() => {
        throw err;
      });
    }
    if (quiet) {
      log(`  (fresh server on port ${port}, idle RSS ${fmtBytes(procMem(this.server.pid).rss)})`);
      return;
    }
    this.meta.server = { idleRss: procMem(this.server.pid).rss, version: (await run(process.execPath, [args[0], '-version'])).stdout.trim() };
    log(`server ready: idle RSS ${fmtBytes(this.meta.server.idleRss)}, version ${this.meta.server.version || '?'}`);
    if (!resetPeakRss(this.server.pid)) this.note('cannot reset the server\'s VmHWM (/proc/<pid>/clear_refs): its peak RSS is sampled every 50 ms instead, which can miss short spikes.');
  }

  async restartServer() {
    await stopChild(this.server);
    await this.startServer({ quiet: true });
  }

  async takeSnapshot() {
    let name;
    try {
      const res = await fetch(`${this.serverUrl}/api/snapshot?skip_head=true`, { method: 'POST', redirect: 'manual' });
      const body = await res.json().catch(() => ({}));
      if (res.status !== 303 || !body.name) throw new Error(`HTTP ${res.status} ${JSON.stringify(body).slice(0, 200)}`);
      name = body.name;
      log(`snapshot ${name} taken through the server (POST /api/snapshot)`);
    } catch (err) {
      this.note(`the server could not take the snapshot (${err.message}); took it through Prometheus' admin API instead.`);
      const res = await fetch(`${this.promUrl}/api/v1/admin/tsdb/snapshot?skip_head=true`, { method: 'POST' });
      const body = await res.json();
      if (!body?.data?.name) throw new Error(`Prometheus did not take a snapshot: ${JSON.stringify(body)}`);
      name = body.data.name;
    }
    this.snapshotsToRemove.add(name);
    return name;
  }

  async warmCache(dir) {
    await run('sync', []);
    const files = [];
    const walk = (d) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        const p = path.join(d, e.name);
        if (e.isDirectory()) walk(p);
        else files.push(p);
      }
    };
    walk(dir);
    const resident = async () => {
      if (!which('fincore')) return undefined;
      const r = await run('fincore', ['-b', '-n', '-r', '-o', 'RES,SIZE', ...files]);
      let res = 0;
      let size = 0;
      for (const line of r.stdout.split('\n')) {
        const [a, b] = line.trim().split(/\s+/).map(Number);
        if (Number.isFinite(a) && Number.isFinite(b)) {
          res += a;
          size += b;
        }
      }
      return size ? res / size : undefined;
    };
    const before = await resident();
    const m = await measureShell(`cd ${shq(dir)} && find . -type f -print0 | xargs -0 cat > /dev/null`);
    const after = await resident();
    this.meta.warmup = { residentBefore: before, residentAfter: after, seconds: m.seconds, mbps: this.input.bytes / m.seconds / MB };
    log(`page cache warmed: first read ${fx(this.meta.warmup.mbps, 0)} MB/s; resident ${pct(before)} before, ${pct(after)} after`);
    if (after !== undefined && after < 0.98) {
      this.note(`only ${pct(after)} of the snapshot stayed in the page cache after warming (${fmtBytes(memAvailable())} available): rows read partly from disk.`);
    }
    if (this.input.bytes > memAvailable() * 0.8) {
      this.note(`the snapshot (${fmtBytes(this.input.bytes)}) is close to or larger than available memory (${fmtBytes(memAvailable())}): the page cache cannot hold it, numbers are disk-bound.`);
    }
  }

  // --- measuring --------------------------------------------------------------------------------

  /**
   * Waits (up to --quiet-wait seconds) until the rest of the machine uses less than
   * --quiet-cores, measured over half a second, so runs start on a machine that is as quiet as
   * it gets. Other people's builds and tests on a shared 2-core box otherwise halve the numbers.
   */
  async waitQuiet() {
    if (!this.o.quietWait) return;
    const started = Date.now();
    const q = (this.meta.quiet ??= { waitedSeconds: 0, runs: 0, startedBusy: 0, consecutiveBusy: 0, gaveUp: false });
    q.runs++;
    for (;;) {
      const a = systemCpu();
      await sleep(500);
      const b = systemCpu();
      const cores = (b.busy - a.busy) / 0.5;
      if (cores <= this.o.quietCores) {
        q.consecutiveBusy = 0;
        break;
      }
      if (q.gaveUp || Date.now() - started > this.o.quietWait * 1000) {
        q.startedBusy++;
        // A machine that stays busy will not quieten down for the next run either.
        if (++q.consecutiveBusy >= 3 && !q.gaveUp) {
          q.gaveUp = true;
          log(`  the machine stayed busy for 3 waits in a row; not waiting any more in this run`);
        }
        break;
      }
    }
    const waited = (Date.now() - started) / 1000;
    q.waitedSeconds += waited;
    if (waited > 2) log(`  (waited ${fmtSecs(waited)} for the machine to quieten down)`);
  }

  /** One reference (or context) pipeline run: script prints the output size on stdout (or not). */
  async runShell(row, script, { warmup = false, outBytes } = {}) {
    await this.waitQuiet();
    const m = await measureShell(script);
    const last = m.stdout.trim().split('\n').pop().trim();
    const out = outBytes ?? (/^\d+$/.test(last) ? Number(last) : undefined);
    const rec = {
      ok: m.code === 0,
      error: m.code === 0 ? undefined : `exit ${m.code}: ${m.stderr.slice(-300)}`,
      seconds: m.seconds,
      inputBytes: row.inputBytes,
      outBytes: out,
      cpu: m.cpu,
      peakRss: m.treePeakRss,
      cpuOther: m.cpuOther,
      steal: m.steal,
    };
    (warmup ? row.warmup : row.runs).push(rec);
    this.logRun(row, rec, warmup);
    return rec;
  }

  downloadUrl(name, format, level) {
    return `${this.serverUrl}/api/download?name=${encodeURIComponent(name)}&format=${format}${level ? `&level=${level}` : ''}`;
  }

  async downloadStatus(id) {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const res = await fetch(`${this.serverUrl}/api/download_status?id=${encodeURIComponent(id)}`);
      const body = await res.json().catch(() => ({}));
      if (res.ok && body.finished) return body.finished;
      if (Date.now() > deadline) return { success: false, error_text: `status still ${res.status} ${JSON.stringify(body).slice(0, 200)} after 30s` };
      await sleep(50);
    }
  }

  /**
   * One or more concurrent downloads of ours with curl to /dev/null. Retries when the server
   * answers 429 (a previous download's slot not yet released). With `pipe` (a shell command,
   * one download only), the body goes to that command instead of /dev/null; with `file`, curl
   * writes it there and `sha256sum` then reads it back, as a user checking a download would.
   */
  async runDownload(row, { name, format, level, n = 1, limitRate, warmup = false, inputBytes, pipe, file, client = '' }) {
    if (this.server.exitCode !== null || this.server.signalCode !== null) {
      this.note(`the server died (exit ${this.server.exitCode ?? this.server.signalCode}; see ${path.join(this.o.cacheDir, 'server.log')}) before "${row.label}"; restarted it.`);
      await this.startServer({ quiet: true });
    }
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'prombackup-bench-'));
    try {
      for (let attempt = 1; ; attempt++) {
        const url = this.downloadUrl(name, format, level);
        const curl = (i) =>
          `${client}curl -sS ${limitRate ? `--limit-rate ${Math.round(limitRate)} ` : ''}-o /dev/null -D ${shq(`${tmp}/h${i}`)} -w '%{http_code} %{size_download}\\n' ${shq(url)}`;
        const piped = `set -o pipefail; ${client}curl -sS -D ${shq(`${tmp}/h0`)} -w '%{stderr}HTTP %{http_code} %{size_download}\\n' ${shq(url)} | ${pipe}`;
        const toFile = file && `set -e; ${client}curl -sS -o ${shq(file)} -D ${shq(`${tmp}/h0`)} -w '%{http_code} %{size_download}\\n' ${shq(url)}; ${client}sha256sum ${shq(file)} > /dev/null`;
        const script = toFile || (pipe ? piped : n === 1 ? curl(0) : `${Array.from({ length: n }, (_, i) => `${curl(i)} &`).join('\n')}\nwait`);
        await this.waitQuiet();
        const m = await measureShell(script, { serverPid: this.server.pid });
        const answers = pipe
          ? [...m.stderr.matchAll(/^HTTP (\d+) (\d+)$/gm)].map((a) => [Number(a[1]), Number(a[2])])
          : m.stdout.trim().split('\n').map((l) => l.split(' ').map(Number));
        if (answers.some(([code]) => code === 429) && attempt < 5) {
          log(`  ${row.label}: 429 from the server (download slots busy); retrying in 2s`);
          await sleep(2000);
          continue;
        }
        const ids = [];
        for (let i = 0; i < n; i++) {
          const h = fs.existsSync(`${tmp}/h${i}`) ? fs.readFileSync(`${tmp}/h${i}`, 'utf8') : '';
          ids.push(/^x-prombackup-download-id:\s*(\S+)/im.exec(h)?.[1]);
        }
        const errors = [];
        if (m.code !== 0) errors.push(`curl exit ${m.code}: ${m.stderr.slice(-200)}`);
        answers.forEach(([code], i) => code !== 200 && errors.push(`download ${i + 1}: HTTP ${code}`));
        const statuses = await Promise.all(ids.map((id) => (id ? this.downloadStatus(id) : { success: false, error_text: 'no download id header' })));
        statuses.forEach((s, i) => !s.success && errors.push(`download ${i + 1}: status says ${s.error_text ?? 'not successful'}`));
        const input = inputBytes ?? row.inputBytes;
        const rec = {
          ok: errors.length === 0,
          error: errors.join('; ') || undefined,
          seconds: m.seconds,
          inputBytes: input * n,
          outBytes: answers.reduce((a, [, size]) => a + (size || 0), 0) / n,
          cpu: m.cpu,
          cpuServer: m.cpuServer,
          cpuClient: m.cpuClient,
          peakRss: m.serverPeakRss,
          rssOf: 'server',
          cpuOther: m.cpuOther,
          steal: m.steal,
          sha256: statuses.map((s) => s.sha256_hex),
        };
        (warmup ? row.warmup : row.runs).push(rec);
        this.logRun(row, rec, warmup);
        return rec;
      }
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  }

  logRun(row, rec, warmup) {
    const mbps = rec.inputBytes / rec.seconds / MB;
    log(
      `  ${warmup ? '(warm-up) ' : ''}${row.label}: ${fx(mbps, 0)} MB/s in ${fmtSecs(rec.seconds)}` +
        `${rec.outBytes ? `, out/in ${fx(rec.outBytes / (rec.inputBytes / (row.concurrent || 1)), 3)}` : ''}` +
        `, CPU ${fx(rec.cpu, 1)}s${rec.peakRss ? `, peak RSS ${fmtBytes(rec.peakRss)}` : ''}` +
        `${rec.cpuOther / rec.seconds > 0.15 ? `, other load ${fx(rec.cpuOther / rec.seconds, 2)} cores` : ''}` +
        `${rec.ok ? '' : `  ERROR ${rec.error}`}`,
    );
  }

  /** Warm-up round (excluded from medians), then rounds alternating every measured row. */
  async rounds(items, { freshServer = true } = {}) {
    if (freshServer) await this.freshServer();
    for (const it of items.filter((i) => i.warmup)) await it.fn({ warmup: true });
    const maxRuns = Math.max(...items.map((i) => i.runs));
    for (let r = 0; r < maxRuns; r++) {
      log(`round ${r + 1}/${maxRuns}`);
      if (freshServer && r > 0) await this.freshServer();
      for (const it of items) if (r < it.runs) await it.fn({ warmup: false });
    }
  }

  /**
   * A new server instance, warmed up by --warmups untimed tar downloads. Instances differ: on
   * this kind of machine some run a whole instance's life at about twice the CPU per byte of
   * others (more garbage collection), so each round samples a fresh one instead of trusting one.
   * The warm-up is for V8: it optimizes the streaming code (Node's, archiver's and tar-stream's
   * streams, run once or more per chunk) only after a few thousand chunks, and until then a
   * fresh instance streams tar 10-20% slower. A server beside Prometheus runs for weeks, and
   * backs up tens of GB, most of it after those first few; the cold downloads are measured too,
   * as context rows (see groupTar).
   */
  async freshServer() {
    await this.restartServer();
    for (let i = 0; i < this.o.warmups; i++) {
      const m = await measureShell(`curl -sS -o /dev/null -D - ${shq(this.downloadUrl(this.snapName, 'tar'))} | sed -n 's/^x-prombackup-download-id: *//Ip'`);
      const id = m.stdout.trim();
      if (id) await this.downloadStatus(id);
    }
  }

  // --- groups -----------------------------------------------------------------------------------

  tarCmd() {
    return `tar -cf - -C ${shq(this.snapshotsDir)} ${shq(this.snapName)}`;
  }

  /** The target reference exactly as in the issue; its warm-up run also counts the output. */
  refItem(row, pipeline) {
    const timed = `${this.tarCmd()} | ${pipeline ? `${pipeline} | ` : ''}openssl dgst -sha256`;
    const counted = `${this.tarCmd()} | ${pipeline ? `${pipeline} | ` : ''}tee >(openssl dgst -sha256 >&2) | wc -c`;
    row.command = timed;
    return {
      runs: this.o.runs,
      warmup: true,
      fn: async ({ warmup }) => {
        const outBytes = warmup ? undefined : row.warmup.find((w) => w.outBytes)?.outBytes;
        await this.runShell(row, warmup ? counted : timed, { warmup, outBytes });
      },
    };
  }

  /** A context row: counts its output inline (tee + wc -c; a small extra cost, noted). */
  contextItem(row, script, runs = this.o.contextRuns) {
    row.command = script;
    return { runs, warmup: false, fn: ({ warmup }) => this.runShell(row, script, { warmup }) };
  }

  oursItem(row, format, level, runs = this.o.runs) {
    row.command = `curl -o /dev/null '${this.downloadUrl(this.snapName, format, level).replace(this.serverUrl, '$SERVER')}'`;
    return { runs, warmup: row.kind === 'ours', fn: ({ warmup }) => this.runDownload(row, { name: this.snapName, format, level, warmup }) };
  }

  nodeItem(row, format, level, runs = this.o.contextRuns) {
    const script = `${shq(process.execPath)} ${shq(path.join(REPO, 'scripts/bench/node-pipeline.mjs'))} ${shq(this.snapDir)} ${format}${level ? ` ${level}` : ''}`;
    row.command = `node scripts/bench/node-pipeline.mjs SNAPSHOT ${format}${level ? ` ${level}` : ''}`;
    return { runs, warmup: false, fn: ({ warmup }) => this.runShell(row, script, { warmup }) };
  }

  base(id, label, group, kind) {
    return this.row(id, { label, group, kind, inputBytes: this.input.bytes });
  }

  async groupTar() {
    const ref = this.base('tar-ref', 'tar -cf - | openssl dgst -sha256', 'tar', 'ref');
    const ours = this.base('tar-ours', 'ours: tar over HTTP (curl > /dev/null)', 'tar', 'ours');
    const cat = this.base('cat', 'cat every file | wc -c (read limit)', 'tar', 'context');
    const node = this.base('tar-node', 'Node in process: archiver tar + SHA-256', 'tar', 'context');
    const cold1 = this.base('tar-cold1', 'ours: tar, the first download of a fresh server', 'tar', 'context');
    const cold2 = this.base('tar-cold2', 'ours: tar, its second download', 'tar', 'context');
    await this.rounds([
      this.refItem(ref, ''),
      this.oursItem(ours, 'tar'),
      // Cheap enough to run as often as the target rows.
      this.contextItem(cat, `cd ${shq(this.snapshotsDir)} && find ${shq(this.snapName)} -type f -print0 | xargs -0 cat | wc -c`, this.o.runs),
      this.nodeItem(node, 'tar', undefined, this.o.runs),
      // Last in the round: it replaces the warmed-up instance with a new one.
      {
        runs: this.o.runs,
        warmup: false,
        fn: async () => {
          await this.restartServer();
          await this.runDownload(cold1, { name: this.snapName, format: 'tar' });
          await this.runDownload(cold2, { name: this.snapName, format: 'tar' });
        },
      },
    ]);
  }

  async groupTzst() {
    const ref = this.base('tzst-ref', 'tar | zstd -3 -T0 | openssl dgst -sha256', 'tzst', 'ref');
    const ours = this.base('tzst-ours', 'ours: tzst (default level 3) over HTTP', 'tzst', 'ours');
    const noSha = this.base('tzst-nosha', 'tar | zstd -3 -T0 | wc -c (no SHA-256)', 'tzst', 'context');
    const one = this.base('tzst-t1', 'tar | zstd -3 -T1 | openssl (one thread)', 'tzst', 'context');
    const node = this.base('tzst-node', 'Node in process: archiver + zstd-napi 3', 'tzst', 'context');
    await this.rounds([
      this.refItem(ref, 'zstd -3 -T0 -q -c'),
      this.oursItem(ours, 'tzst'),
      this.contextItem(noSha, `${this.tarCmd()} | zstd -3 -T0 -q -c | wc -c`),
      this.contextItem(one, `${this.tarCmd()} | zstd -3 -T1 -q -c | tee >(openssl dgst -sha256 >&2) | wc -c`),
      this.nodeItem(node, 'tzst', 3),
    ]);
  }

  async groupTgz() {
    const items = [];
    if (this.hasPigz) items.push(this.refItem(this.base('tgz-ref', 'tar | pigz -1 | openssl dgst -sha256', 'tgz', 'ref'), 'pigz -1'));
    items.push(this.oursItem(this.base('tgz-ours', 'ours: tgz (default level 1) over HTTP', 'tgz', 'ours'), 'tgz'));
    const counted = (p) => `${this.tarCmd()} | ${p} | tee >(openssl dgst -sha256 >&2) | wc -c`;
    items.push(this.contextItem(this.base('tgz-gzip1', 'tar | gzip -1 | openssl', 'tgz', 'context'), counted('gzip -1')));
    items.push(this.nodeItem(this.base('tgz-node1', 'Node in process: archiver + zlib 1', 'tgz', 'context'), 'tgz', 1));
    if (this.o.slow) {
      items.push(this.contextItem(this.base('tgz-gzip6', 'tar | gzip -6 | openssl', 'tgz', 'context'), counted('gzip -6')));
      if (this.hasPigz) items.push(this.contextItem(this.base('tgz-pigz6', 'tar | pigz -6 | openssl', 'tgz', 'context'), counted('pigz -6')));
      items.push(this.nodeItem(this.base('tgz-node6', 'Node in process: archiver + zlib 6', 'tgz', 'context'), 'tgz', 6));
      items.push(this.oursItem(this.base('tgz-ours6', 'ours: tgz level 6 over HTTP', 'tgz', 'context'), 'tgz', 6, this.o.contextRuns));
    }
    await this.rounds(items);
  }

  async buildVariant(label, targetBytes) {
    const blocks = (await listBlocks(this.snapDir)).sort((a, b) => a.name.localeCompare(b.name));
    const name = `${snapshotTimestamp()}-bench${label}`;
    const dir = path.join(this.snapshotsDir, name);
    this.snapshotsToRemove.add(name);
    let bytes = 0;
    let n = 0;
    for (let i = 0; ; i++) {
      const b = blocks[i % blocks.length];
      if (n > 0 && bytes + b.bytes / 2 >= targetBytes) break;
      await linkTree(path.join(this.snapDir, b.name), path.join(dir, fakeUlid()));
      bytes += b.bytes;
      n++;
      if (n > 100000) break;
    }
    const size = await treeSize(dir);
    log(`snapshot ${name}: ${fmtBytes(size.bytes)} in ${n} blocks, ${size.files} files (hard links to the real blocks${n > blocks.length ? ', repeated' : ''})`);
    return { name, dir, ...size };
  }

  async groupRss() {
    const small = await this.buildVariant(`${String(this.o.smallGb).replace('.', 'p')}gb`, this.o.smallGb * 1e9);
    const large = await this.buildVariant(`${String(this.o.largeGb).replace('.', 'p')}gb`, this.o.largeGb * 1e9);
    this.meta.rssSnapshots = { small: { name: small.name, bytes: small.bytes, files: small.files }, large: { name: large.name, bytes: large.bytes, files: large.files } };
    // Each RSS scenario starts on a fresh server, so what one download left behind in the heap
    // does not count against the next; the long-running server's peaks are in the other groups
    // and in the "any single download" target.
    for (const v of [small, large]) {
      for (const format of this.o.rssFormats) {
        await this.freshServer();
        const tag = v === small ? 'small' : 'large';
        const row = this.row(`rss-${tag}-${format}`, {
          label: `ours: ${format}, ${fmtBytes(v.bytes)} snapshot`,
          group: 'rss',
          kind: 'ours',
          inputBytes: v.bytes,
          size: tag,
          format,
        });
        await this.runDownload(row, { name: v.name, format, inputBytes: v.bytes });
      }
    }
    if (this.o.slowClientMBps > 0) {
      await this.freshServer();
      const row = this.row('rss-slowclient', {
        label: `ours: tar, ${fmtBytes(small.bytes)}, client limited to ${this.o.slowClientMBps} MB/s`,
        group: 'rss',
        kind: 'ours',
        inputBytes: small.bytes,
        size: 'small',
        format: 'tar',
      });
      await this.runDownload(row, { name: small.name, format: 'tar', inputBytes: small.bytes, limitRate: this.o.slowClientMBps * MB });
    }
    const n = this.o.concurrency;
    for (const format of this.o.concurrentFormats) {
      const one = this.row(`conc1-${format}`, { label: `ours: ${format}, one download (baseline)`, group: 'rss', kind: 'ours', inputBytes: this.input.bytes, format });
      const many = this.row(`conc${n}-${format}`, {
        label: `ours: ${format}, ${n} concurrent (aggregate)`,
        group: 'rss',
        kind: 'ours',
        inputBytes: this.input.bytes,
        format,
        concurrent: n,
      });
      await this.rounds([
        { runs: this.o.runs, warmup: false, fn: ({ warmup }) => this.runDownload(one, { name: this.snapName, format, warmup }) },
        { runs: this.o.runs, warmup: false, fn: ({ warmup }) => this.runDownload(many, { name: this.snapName, format, n, warmup }) },
      ]);
    }
  }

  /**
   * The CLI's target: `prombackup create` to a file against what a user would do by hand,
   * `curl -o FILE` then `sha256sum FILE`. Context rows: the CLI into /dev/null (the same request,
   * hash and verification, nothing written), curl into /dev/null, the same work by C tools in
   * one pipeline, and curl and the CLI
   * with the server held on one core and the client on the other, as when the CLI runs on
   * another host.
   */
  async groupCli() {
    const outDir = path.join(this.o.cacheDir, 'cli-out');
    fs.mkdirSync(outDir, { recursive: true });
    const outFile = path.join(outDir, 'bench.tar');
    registerCleanup(() => fs.rmSync(outDir, { recursive: true, force: true }));
    const fileRow = this.base('cli-create', 'ours: prombackup create --format tar to disk', 'cli', 'ours');
    fileRow.command = 'prombackup create --server $SERVER --format tar --output FILE --force --json';
    const nullRow = this.base('cli-null', 'prombackup create --format tar --output /dev/null (the same download)', 'cli', 'context');
    nullRow.command = 'prombackup create --server $SERVER --format tar --output /dev/null --json';
    const curlRow = this.base('cli-curl', 'curl tar download > /dev/null', 'cli', 'context');
    const byHandRow = this.base('cli-by-hand', 'curl -o FILE, then sha256sum FILE (by hand)', 'cli', 'ref');
    byHandRow.command = "curl -o FILE '$SERVER/api/download?name=...&format=tar' && sha256sum FILE";
    const byHandFile = path.join(outDir, 'by-hand.tar');
    const toolsRow = this.base('cli-tools', 'curl | tee FILE | openssl dgst -sha256 (the same work by C tools)', 'cli', 'context');
    const toolsFile = path.join(outDir, 'tools.tar');
    const pinned = os.cpus().length >= 2 && (await measureShell('command -v taskset')).code === 0;
    const curlPinnedRow = pinned && this.base('cli-curl-pinned', 'curl > /dev/null, server on CPU 0, curl on CPU 1', 'cli', 'context');
    const filePinnedRow = pinned && this.base('cli-create-pinned', 'prombackup create to disk, server on CPU 0, CLI on CPU 1', 'cli', 'context');

    const cli = (row, output, client = '') => async ({ warmup }) => {
      const script = `${client}${cliCommand(this.buildDir)} create --server ${shq(this.serverUrl)} --format tar --output ${shq(output)} --force --json`;
      await this.waitQuiet();
      const m = await measureShell(script, { serverPid: this.server.pid });
      let json;
      try {
        json = JSON.parse(m.stdout.slice(m.stdout.indexOf('{')));
      } catch {
        json = undefined;
      }
      const snap = json?.snapshot_name;
      let input = this.input.bytes;
      if (snap && fs.existsSync(path.join(this.snapshotsDir, snap))) {
        input = (await treeSize(path.join(this.snapshotsDir, snap))).bytes;
        await fsp.rm(path.join(this.snapshotsDir, snap), { recursive: true, force: true });
      }
      const toFile = output === outFile;
      const outBytes = toFile && fs.existsSync(outFile) ? fs.statSync(outFile).size : json?.bytes;
      if (toFile) fs.rmSync(outFile, { force: true });
      const rec = {
        ok: m.code === 0 && !!json,
        error: m.code === 0 ? (json ? undefined : `no JSON on stdout: ${m.stdout.slice(0, 200)}`) : `exit ${m.code}: ${(m.stderr || m.stdout).slice(-300)}`,
        // The CLI's own clock (snapshot + download + hash + verification + rename), which leaves
        // out Node and oclif starting up; the process's wall time is kept beside it.
        seconds: json?.seconds ?? m.seconds,
        wallSeconds: m.seconds,
        inputBytes: input,
        outBytes,
        cpu: m.cpu,
        cpuServer: m.cpuServer,
        cpuClient: m.cpuClient,
        peakRss: m.serverPeakRss,
        rssOf: 'server',
        clientPeakRss: m.treePeakRss,
        cpuOther: m.cpuOther,
        steal: m.steal,
      };
      (warmup ? row.warmup : row.runs).push(rec);
      this.logRun(row, rec, warmup);
      if (rec.ok) log(`    (process wall time ${fmtSecs(m.seconds)} = ${fx(input / m.seconds / MB, 0)} MB/s including Node/oclif start-up)`);
    };
    // The same work done by C tools, for context: the archive to a file through the page cache,
    // hashed beside it. No fsync, no verification; the file is deleted after each run.
    const tools = async ({ warmup }) => {
      await this.runDownload(toolsRow, { name: this.snapName, format: 'tar', warmup, pipe: `tee ${shq(toolsFile)} | openssl dgst -sha256 >/dev/null` });
      fs.rmSync(toolsFile, { force: true });
    };
    const byHand = async ({ warmup }) => {
      await this.runDownload(byHandRow, { name: this.snapName, format: 'tar', warmup, file: byHandFile });
      fs.rmSync(byHandFile, { force: true });
    };
    // Every thread of the server, and those it starts later, on CPU 0; the client on CPU 1.
    const pin = (cpus) => measureShell(`taskset -a -p -c ${cpus} ${this.server.pid} > /dev/null`);
    const pinnedPair = async ({ warmup }) => {
      await pin('0');
      try {
        await this.runDownload(curlPinnedRow, { name: this.snapName, format: 'tar', warmup, client: 'taskset -c 1 ' });
        await cli(filePinnedRow, outFile, 'taskset -c 1 ')({ warmup });
      } finally {
        await pin(`0-${os.cpus().length - 1}`);
      }
    };
    await this.rounds([
      { runs: this.o.runs, warmup: true, fn: cli(nullRow, '/dev/null') },
      { runs: this.o.runs, warmup: true, fn: cli(fileRow, outFile) },
      { runs: this.o.runs, warmup: true, fn: byHand },
      { runs: this.o.runs, warmup: true, fn: ({ warmup }) => this.runDownload(curlRow, { name: this.snapName, format: 'tar', warmup }) },
      { runs: this.o.contextRuns, warmup: false, fn: tools },
      ...(pinned ? [{ runs: this.o.runs, warmup: true, fn: pinnedPair }] : []),
    ]);
  }

  // --- reporting ----------------------------------------------------------------------------------

  summary(row) {
    const ok = row.runs.filter((r) => r.ok);
    const secs = median(ok.map((r) => r.seconds));
    const mbpsList = ok.map((r) => r.inputBytes / r.seconds / MB);
    const outs = [...ok, ...row.warmup.filter((r) => r.ok)].map((r) => r.outBytes).filter(Boolean);
    const perDownloadInput = row.inputBytes;
    return {
      runs: ok.length,
      failed: row.runs.length - ok.length,
      seconds: secs,
      mbps: ok.length ? median(mbpsList) : undefined,
      mbpsMin: ok.length ? Math.min(...mbpsList) : undefined,
      mbpsMax: ok.length ? Math.max(...mbpsList) : undefined,
      ratio: outs.length ? median(outs) / perDownloadInput : undefined,
      outBytes: outs.length ? median(outs) : undefined,
      cpu: median(ok.map((r) => r.cpu)),
      cores: median(ok.map((r) => r.cpu / r.seconds)),
      cpuServer: median(ok.map((r) => r.cpuServer)),
      peakRss: [...row.runs, ...row.warmup].reduce((a, r) => Math.max(a, r.peakRss || 0), 0) || undefined,
      other: median(ok.map((r) => r.cpuOther / r.seconds)),
      steal: median(ok.map((r) => r.steal / r.seconds)),
      wallMbps: ok.some((r) => r.wallSeconds) ? median(ok.map((r) => r.inputBytes / r.wallSeconds / MB)) : undefined,
      errors: row.runs.filter((r) => !r.ok).map((r) => r.error),
    };
  }

  targets() {
    const s = (id) => (this.rows.has(id) ? this.summary(this.rows.get(id)) : undefined);
    const out = [];
    const ratioTarget = (name, oursId, refId, need, extra = {}) => {
      const a = s(oursId);
      const b = s(refId);
      if (!a || !b) return;
      const ratio = a.mbps && b.mbps ? a.mbps / b.mbps : undefined;
      const failedRuns = (a.failed || 0) + (b.failed || 0);
      out.push({
        target: name,
        ours: `${fx(a.mbps, 0)} MB/s`,
        reference: `${fx(b.mbps, 0)} MB/s`,
        measured: ratio === undefined ? '-' : `${fx(ratio, 2)}x`,
        need: `>= ${need}x`,
        pass: ratio !== undefined && ratio >= need && failedRuns === 0,
        value: ratio,
        ...extra,
        note: failedRuns ? `${failedRuns} failed run(s)` : undefined,
      });
    };
    // Not targets: the same before V8 has optimized the server's streaming code.
    const context = (name, oursId, refId) => {
      const a = s(oursId);
      const b = s(refId);
      if (a?.mbps && b?.mbps) out.push({ target: name, ours: `${fx(a.mbps, 0)} MB/s`, reference: `${fx(b.mbps, 0)} MB/s`, measured: `${fx(a.mbps / b.mbps, 2)}x`, need: '-', pass: null, info: true });
    };
    if (this.o.only.includes('tar')) {
      ratioTarget('tar over HTTP vs tar | openssl dgst -sha256', 'tar-ours', 'tar-ref', 0.95);
      context('context: the same, the first download of a fresh server', 'tar-cold1', 'tar-ref');
      context('context: the same, its second download', 'tar-cold2', 'tar-ref');
    }
    if (this.o.only.includes('tzst')) ratioTarget('tzst vs tar | zstd -3 -T0 | openssl', 'tzst-ours', 'tzst-ref', 1.0);
    if (this.o.only.includes('tgz')) {
      if (!this.hasPigz) out.push({ target: 'tgz vs tar | pigz -1 | openssl', pass: null, measured: 'skipped', need: '>= 1.0x', note: 'pigz not installed' });
      else {
        ratioTarget('tgz (level 1) vs tar | pigz -1 | openssl: speed', 'tgz-ours', 'tgz-ref', 1.0);
        const a = s('tgz-ours');
        const b = s('tgz-ref');
        if (a && b) {
          const r = a.outBytes && b.outBytes ? a.outBytes / b.outBytes : undefined;
          out.push({
            target: 'tgz (level 1) vs pigz -1: output size',
            ours: fmtBytes(a.outBytes),
            reference: fmtBytes(b.outBytes),
            measured: r === undefined ? '-' : `${fx(r, 3)}x`,
            need: '<= 1.02x',
            pass: r !== undefined && r <= 1.02,
            value: r,
          });
        }
      }
    }
    if (this.o.only.includes('rss')) {
      const rssRows = [...this.rows.values()].filter((r) => r.group === 'rss');
      const peak = (rows) => rows.reduce((a, r) => Math.max(a, this.summary(r).peakRss || 0), 0);
      for (const size of ['small', 'large']) {
        const rows = rssRows.filter((r) => r.size === size);
        if (!rows.length) continue;
        const p = peak(rows);
        const snap = this.meta.rssSnapshots?.[size];
        out.push({
          target: `server peak RSS, one download, ${fmtBytes(snap?.bytes)} snapshot (${rows.map((r) => r.format + (r.id.includes('slow') ? ' slow client' : '')).join(', ')})`,
          ours: fmtBytes(p),
          measured: fmtBytes(p),
          need: '<= 150 MB',
          pass: p > 0 && p <= 150 * MB,
          value: p,
        });
      }
      const flat = ['tar', 'tgz', 'tzst']
        .map((f) => [this.rows.get(`rss-small-${f}`), this.rows.get(`rss-large-${f}`)])
        .filter(([a, b]) => a && b);
      if (flat.length) {
        const worst = Math.max(...flat.map(([a, b]) => (this.summary(b).peakRss || 0) - (this.summary(a).peakRss || 0)));
        out.push({
          target: `RSS flat from ${fmtBytes(this.meta.rssSnapshots.small.bytes)} to ${fmtBytes(this.meta.rssSnapshots.large.bytes)} (largest growth over formats)`,
          measured: `${worst >= 0 ? '+' : ''}${fmtBytes(Math.abs(worst)).replace(/^/, worst < 0 ? '-' : '')}`,
          need: '<= +20 MB',
          pass: worst <= 20 * MB,
          value: worst,
          note: 'the harness reads "the same for 0.5 GB and 5 GB" as: peak grows by at most 20 MB',
        });
      }
      const n = this.o.concurrency;
      const conc = rssRows.filter((r) => r.concurrent);
      if (conc.length) {
        const p = peak(conc);
        out.push({ target: `server peak RSS, ${n} concurrent downloads (${conc.map((r) => r.format).join(', ')})`, measured: fmtBytes(p), need: '<= 250 MB', pass: p > 0 && p <= 250 * MB, value: p });
        for (const r of conc) {
          const one = s(`conc1-${r.format}`);
          const many = this.summary(r);
          const ratio = one?.mbps && many.mbps ? many.mbps / one.mbps : undefined;
          out.push({
            target: `${n} concurrent ${r.format} downloads: aggregate vs one`,
            ours: `${fx(many.mbps, 0)} MB/s`,
            reference: `${fx(one?.mbps, 0)} MB/s`,
            measured: ratio === undefined ? '-' : `${fx(ratio, 2)}x`,
            need: '>= 0.9x',
            pass: ratio !== undefined && ratio >= 0.9 && !many.failed && !one.failed,
            value: ratio,
          });
        }
      }
    }
    const single = [...this.rows.values()].filter((r) => !r.concurrent && r.runs.some((x) => x.rssOf === 'server'));
    if (single.length) {
      const p = single.reduce((a, r) => Math.max(a, this.summary(r).peakRss || 0), 0);
      out.push({ target: 'server peak RSS, any single download in this run', measured: fmtBytes(p), need: '<= 150 MB', pass: p > 0 && p <= 150 * MB, value: p });
    }
    if (this.o.only.includes('cli')) {
      ratioTarget('CLI create to disk, verified, vs curl -o FILE then sha256sum FILE', 'cli-create', 'cli-by-hand', 0.9);
      // Not targets: how the CLI compares with itself writing nothing, and with a client that does no work at all.
      context('context: CLI to disk vs the same download to /dev/null', 'cli-create', 'cli-null');
      context('context: CLI to disk vs curl > /dev/null, server and client sharing both cores', 'cli-create', 'cli-curl');
      context('context: the same with the server on CPU 0 and the client on CPU 1', 'cli-create-pinned', 'cli-curl-pinned');
    }
    if (this.o.only.includes('sync')) out.push(...syncTargets(this, s, ratioTarget));
    if (this.o.only.includes('restore')) {
      ratioTarget('restore of the tzst archive vs zstd -dc FILE | tar -x', 'restore', 'restore-ref', 0.9);
      context('context: restore --no-verify vs zstd -dc FILE | tar -x', 'restore-no-verify', 'restore-ref');
      context('context: restore vs zstd -dc FILE | tar -x, then sync -f DIR (the reference made as durable)', 'restore', 'restore-ref-sync');
      context('context: Node in process (unpack only) vs zstd -dc FILE | tar -x', 'restore-node-floor', 'restore-ref');
    }
    return out;
  }

  autoNotes() {
    const contended = [];
    const stolen = [];
    const noisy = [];
    for (const row of this.rows.values()) {
      const sm = this.summary(row);
      if (sm.failed) this.note(`${row.label}: ${sm.failed} run(s) failed: ${sm.errors[0]}`);
      if (sm.other > 0.2) contended.push(`${row.label} ${fx(sm.other, 2)}`);
      if (sm.steal > 0.05) stolen.push(`${row.label} ${pct(sm.steal)}`);
      if (sm.runs >= 2 && sm.mbps && (sm.mbpsMax - sm.mbpsMin) / sm.mbps > 0.15) noisy.push(`${row.label} ${fx(sm.mbpsMin, 0)}–${fx(sm.mbpsMax, 0)}`);
    }
    const instances = [];
    for (const row of this.rows.values()) {
      const perGb = row.runs.filter((r) => r.ok && r.cpuServer && !row.concurrent).map((r) => r.cpuServer / (r.inputBytes / 1e9));
      if (perGb.length >= 2 && Math.max(...perGb) > 1.3 * Math.min(...perGb)) instances.push(`${row.label} ${fx(Math.min(...perGb), 2)}–${fx(Math.max(...perGb), 2)}`);
    }
    if (instances.length) {
      this.note(`server CPU seconds per input GB differed by more than 30% between runs (fresh instances) of: ${instances.join('; ')}. Server instances can be bimodal (see JSON runs[].cpuServer); the median is the typical instance.`);
    }
    if (contended.length) this.note(`CPU contention: other processes used on average (cores) during ${contended.join('; ')}. Those MB/s are likely low.`);
    if (stolen.length) this.note(`the hypervisor stole CPU (share of a core) during ${stolen.join('; ')}.`);
    if (noisy.length) this.note(`runs spread by more than 15% of the median (MB/s min–max): ${noisy.join('; ')}.`);
    const q = this.meta.quiet;
    if (q?.runs) {
      this.note(
        `waited ${fmtSecs(q.waitedSeconds)} in total for other processes to use less than ${this.o.quietCores} cores before runs` +
          (q.startedBusy
            ? `; ${q.startedBusy} of ${q.runs} runs started on a busy machine anyway${q.gaveUp ? ' (after 3 fruitless waits in a row the harness stopped waiting)' : ''}.`
            : '; every run started on a quiet machine.'),
      );
    }
    if (this.o.runs < 3) this.note(`only ${this.o.runs} measured run(s) per row; the targets ask for medians of at least 3.`);
    if (this.input.bytes < 0.95e9) this.note(`the snapshot is ${fmtBytes(this.input.bytes)}: fixed costs (process start, first request) weigh more than on the tens-of-GB snapshots the targets are about.`);
    this.note('context rows (gzip, pigz -6, zstd -T1, Node in process) count their output with `tee >(openssl dgst -sha256 >&2) | wc -c`, a small extra stage; target references are timed exactly as `tar | X | openssl dgst -sha256` and their output is counted in the warm-up run only.');
    this.note(`every round (and every RSS row) runs on a fresh server instance warmed up by ${this.o.warmups} untimed tar download(s), except the rows that measure a fresh instance's first downloads; within a round, its downloads share that instance, so a peak RSS can include what an earlier download of the round left in the heap.`);
    if (this.o.only.includes('sync')) this.note(syncRowNote(this.input.bytes));
    if (this.o.only.includes('cli')) this.note('the prombackup rows time with the CLI\'s own clock (--json "seconds": snapshot + download + SHA-256 + status check, and for a file fsync + rename), not Node/oclif start-up; the process wall time is in last-results.json (wallSeconds). The CLI writes files with O_DIRECT where the file system allows it, so the disk write is part of the file row (the file is deleted right after); curl rows time the download alone.');
  }

  tableRows() {
    const rows = [];
    for (const g of GROUPS) {
      for (const row of this.rows.values()) {
        if (row.group !== g) continue;
        const sm = this.summary(row);
        rows.push({
          group: g,
          row: row.label,
          kind: row.kind,
          mbps: fx(sm.mbps, 0),
          range: sm.runs > 1 ? `${fx(sm.mbpsMin, 0)}–${fx(sm.mbpsMax, 0)}` : '',
          runs: `${sm.runs}${sm.failed ? ` (+${sm.failed} failed)` : ''}`,
          ratio: fx(sm.ratio, 3),
          cpu: fx(sm.cpu, 1),
          cores: fx(sm.cores, 2),
          rss: sm.peakRss ? `${fx(sm.peakRss / MB, 0)}${row.runs.some((r) => r.rssOf === 'server') ? ' (server)' : ''}` : '-',
          other: fx(sm.other, 2),
        });
      }
    }
    return rows;
  }

  printReport() {
    const rows = this.tableRows();
    const targets = this.targets();
    const cols = [
      ['row', 'row'],
      ['mbps', 'MB/s'],
      ['range', 'min–max'],
      ['runs', 'runs'],
      ['ratio', 'out/in'],
      ['cpu', 'CPU s'],
      ['cores', 'cores'],
      ['rss', 'peak RSS MB'],
      ['other', 'other'],
    ];
    const widths = cols.map(([k, h]) => Math.max(h.length, ...rows.map((r) => String(r[k]).length)));
    const line = (vals) => vals.map((v, i) => (i === 0 ? String(v).padEnd(widths[i]) : String(v).padStart(widths[i]))).join('  ');
    const o = [];
    o.push('');
    o.push('='.repeat(100));
    o.push(`prombackup streaming benchmark — ${new Date().toISOString()}`);
    o.push(
      `snapshot ${this.snapName}: ${fmtBytes(this.input.bytes)} in ${this.input.files} files (${this.dataset.blocks} blocks, ${this.dataset.series} series); ` +
        `${this.meta.machine.cpus} CPUs, ${fmtBytes(this.meta.machine.memTotal)} RAM; node ${process.version}; commit ${this.meta.build.commit} (+${this.meta.build.uncommittedFilesInAppsLibs} uncommitted files in apps/libs)`,
    );
    o.push(`MB/s = snapshot INPUT bytes (10^6) per wall-clock second, median of runs; out/in = output bytes / input bytes; CPU s = user+sys of every process involved`);
    o.push(`(server + client for ours); cores = CPU s / wall s; peak RSS = server VmHWM for ours, summed pipeline RSS for references; other = cores used by the rest of the machine meanwhile.`);
    o.push('='.repeat(100));
    let group;
    o.push(line(cols.map(([, h]) => h)));
    for (const r of rows) {
      if (r.group !== group) {
        group = r.group;
        o.push(`-- ${group} ${'-'.repeat(Math.max(0, widths.reduce((a, b) => a + b + 2, 0) - group.length - 4))}`);
      }
      o.push(line(cols.map(([k]) => r[k])));
    }
    o.push('');
    o.push('TARGETS');
    const tw = Math.max(...targets.map((t) => t.target.length));
    for (const t of targets) {
      const verdict = t.info ? 'INFO' : t.pass === null ? 'SKIP' : t.pass ? 'PASS' : 'FAIL';
      const detail = [t.ours && t.reference ? `${t.ours} vs ${t.reference}` : '', `measured ${t.measured}`, `need ${t.need}`, t.note].filter(Boolean).join('; ');
      o.push(`  [${verdict}] ${t.target.padEnd(tw)}  ${detail}`);
    }
    const pass = targets.filter((t) => t.pass === true).length;
    const fail = targets.filter((t) => t.pass === false).length;
    const skip = targets.filter((t) => t.pass === null && !t.info).length;
    o.push('');
    o.push(fail ? `>>> ${fail} of ${pass + fail + skip} TARGETS FAILED (${pass} passed${skip ? `, ${skip} skipped` : ''}) <<<` : `>>> ALL ${pass} TARGETS PASSED${skip ? ` (${skip} skipped)` : ''} <<<`);
    if (this.notes.length) {
      o.push('');
      o.push('NOTES (what may make these numbers unreliable)');
      for (const n of this.notes) o.push(`  - ${n}`);
    }
    o.push('');
    o.push(
      `timing: dataset ${this.dataset.reused ? `reused (built earlier in ${fmtSecs(this.dataset.buildSeconds)})` : `built in ${fmtSecs(this.dataset.buildSeconds)}`}; ` +
        `benchmark ${fmtSecs(this.meta.benchSeconds)}; total ${fmtSecs(elapsed())}. JSON: ${path.join(this.o.cacheDir, 'last-results.json')}`,
    );
    o.push('');
    o.push('MARKDOWN (for docs/performance.md)');
    o.push('');
    o.push(this.markdown(rows, targets));
    if (this.meta.levels) o.push('', this.meta.levels.markdown);
    process.stdout.write(o.join('\n') + '\n');
    return { rows, targets, pass, fail, skip };
  }

  markdown(rows, targets) {
    const md = [];
    md.push(
      `Snapshot: ${fmtBytes(this.input.bytes)} in ${this.input.files} files (${this.dataset.blocks} TSDB blocks, ${this.dataset.series} node-exporter-like series backfilled with promtool), ` +
        `warm page cache; ${this.meta.machine.cpus} × ${this.meta.machine.cpuModel}, ${fmtBytes(this.meta.machine.memTotal)} RAM; Node ${process.version}; ` +
        `${this.o.runs} measured run(s) per target row, median. MB/s counts input bytes.`,
    );
    // --only levels has neither rows nor targets: its own table follows.
    if (!rows.length && !targets.length) return md.join('\n');
    md.push('');
    md.push('| row | MB/s | min–max | out/in | CPU s | cores | peak RSS MB | other load |');
    md.push('|---|---:|---:|---:|---:|---:|---:|---:|');
    const esc = (t) => String(t).replace(/\|/g, '\\|');
    for (const r of rows) md.push(`| ${r.kind === 'ours' ? `**${esc(r.row)}**` : esc(r.row)} | ${r.mbps} | ${r.range} | ${r.ratio} | ${r.cpu} | ${r.cores} | ${r.rss} | ${r.other} |`);
    md.push('');
    md.push('| target | measured | need | result |');
    md.push('|---|---:|---:|---|');
    for (const t of targets) {
      md.push(`| ${esc(t.target)} | ${t.ours && t.reference ? `${t.ours} vs ${t.reference} = ` : ''}${t.measured} | ${t.need.replace('>=', '≥').replace('<=', '≤')} | ${t.info ? 'context' : t.pass === null ? 'skipped' : t.pass ? 'PASS' : '**FAIL**'} |`);
    }
    return md.join('\n');
  }

  async writeJson(report) {
    const file = path.join(this.o.cacheDir, 'last-results.json');
    const data = {
      date: new Date().toISOString(),
      options: this.o,
      meta: this.meta,
      dataset: this.dataset,
      snapshot: { name: this.snapName, ...this.input },
      rows: [...this.rows.values()].map((r) => ({ ...r, summary: this.summary(r) })),
      targets: report.targets,
      verdict: { pass: report.pass, fail: report.fail, skip: report.skip },
      notes: this.notes,
    };
    fs.writeFileSync(file, JSON.stringify(data, null, 2) + '\n');
  }

  // --- main -----------------------------------------------------------------------------------------

  async main() {
    const o = this.o;
    fs.mkdirSync(o.cacheDir, { recursive: true });
    log(`options: ${JSON.stringify({ ...o, cacheDir: path.relative(REPO, o.cacheDir) || '.' })}`);
    this.machineInfo();
    if (o.nice) this.setAutogroupNice(o.nice);
    await this.checkTools();
    this.freezeBuild();
    this.dataset = await ensureDataset({ cacheDir: o.cacheDir, sizeGb: o.sizeGb, series: o.series, blockHours: o.blockHours, jobs: o.jobs });
    const benchStart = elapsed();
    try {
      await this.startPrometheus(this.dataset.dataDir);
      await this.startServer();
      this.snapName = await this.takeSnapshot();
      this.snapDir = path.join(this.snapshotsDir, this.snapName);
      this.input = await treeSize(this.snapDir);
      log(`snapshot ${this.snapName}: ${fmtBytes(this.input.bytes)} in ${this.input.files} files`);
      registerCleanup(() => {
        if (o.keepSnapshot) return;
        for (const n of this.snapshotsToRemove) fs.rmSync(path.join(this.snapshotsDir, n), { recursive: true, force: true });
      });
      await this.warmCache(this.snapDir);
      const groups = {
        tar: () => this.groupTar(),
        tzst: () => this.groupTzst(),
        tgz: () => this.groupTgz(),
        rss: () => this.groupRss(),
        cli: () => this.groupCli(),
        sync: () => groupSync(this, { runs: this.o.runs, parallelRuns: this.o.runs }),
        restore: () => groupRestore(this),
        levels: async () => (this.meta.levels = await measureLevels(this, { seconds: o.levelSeconds, concurrency: o.concurrency, formats: o.levelFormats })),
      };
      for (const g of [...GROUPS, ...EXTRA_GROUPS]) {
        if (!o.only.includes(g)) continue;
        log(`--- group ${g} ---`);
        const t = elapsed();
        await groups[g]();
        const mem = procMem(this.server.pid);
        (this.meta.serverRssAfterGroup ??= {})[g] = mem.rss;
        log(`--- group ${g} done in ${fmtSecs(elapsed() - t)}; server RSS now ${fmtBytes(mem.rss)} ---`);
      }
      this.meta.serverIdleRssAtEnd = procMem(this.server.pid).rss;
    } finally {
      await stopChild(this.server);
      await stopChild(this.prom);
      if (!o.keepSnapshot) {
        for (const n of this.snapshotsToRemove) await fsp.rm(path.join(this.snapshotsDir, n), { recursive: true, force: true });
      }
    }
    this.meta.benchSeconds = elapsed() - benchStart;
    const nowHash = repoBuildHash();
    if (nowHash !== this.meta.build.serverBuildHash) {
      this.note(`apps/server/dist was rebuilt during the run (${this.meta.build.serverBuildHash} -> ${nowHash}); every row measured the build frozen at the start (${this.meta.build.serverBuildHash}).`);
    }
    if (this.o.nice && this.meta.autogroupNice !== undefined) this.note(`the benchmark's session (server, Prometheus, every measured pipeline) ran with autogroup nice ${this.o.nice}.`);
    this.autoNotes();
    const report = this.printReport();
    await this.writeJson(report);
  }
}

installSignalHandlers();
const bench = new Bench(parseOptions(process.argv.slice(2), process.env));
bench.main().then(
  () => process.exit(0),
  (err) => {
    if (isInterrupted()) {
      console.error('bench: interrupted; everything it started has been stopped');
      process.exit(130);
    }
    console.error(`bench: ${err.stack || err}`);
    process.exit(1);
  },
);
