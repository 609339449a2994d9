// Test harness that runs a real Prometheus (and promtool) for integration tests.
//
// Typical use:
//   const prom = await startPrometheus();          // temp data dir, ~6h of backfilled blocks, self-scrape
//   await waitForHeadSamples(prom.url);            // head block has data
//   const name = await takeSnapshot(prom.url);     // lands in prom.snapshotDir/<name>
//   await prom.stop();

import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants as fsConstants, rmSync } from 'node:fs';
import fs from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface BackfillRange {
  /** Time of the first backfilled sample (ms since epoch). */
  startMs: number;
  /** Time of the last backfilled sample (ms since epoch, inclusive). */
  endMs: number;
  /** Name of the gauge metric written by the backfill (one series per `series`). */
  metric: string;
}

export interface BackfillOptions {
  /** Length of the backfilled span in hours. Default 6 (three 2h blocks). */
  hours?: number;
  /** Number of series per metric. Default 3. */
  series?: number;
  /**
   * Exclusive end of the span (ms). Default: now minus about 1-3 hours, rounded down to a
   * 2h block boundary, so the span fills whole blocks. The last sample is one step before it.
   */
  endMs?: number;
  /** Sample interval in seconds. Default 60. */
  stepSeconds?: number;
}

export interface StartOptions {
  /** Use this data dir (kept on stop). Default: a fresh temp dir (removed on stop). */
  dataDir?: string;
  /** Write backfilled blocks before start. Default: true when no dataDir was given. */
  backfill?: boolean;
  /** --storage.tsdb.retention.time. Default '100y' so old blocks are never deleted at start. */
  retention?: string;
  /** Scrape Prometheus itself every second so the head block gets data. Default true. */
  scrapeSelf?: boolean;
  /** More command-line flags, e.g. --storage.tsdb.use-lockfile. */
  args?: string[];
}

export interface PrometheusInstance {
  url: string;
  port: number;
  pid: number;
  dataDir: string;
  snapshotDir: string;
  backfill?: BackfillRange;
  /** First and last lines Prometheus wrote to stderr (its log), for error messages. */
  logTail(): string;
  stop(): Promise<void>;
}

const TWO_HOURS_MS = 2 * 60 * 60 * 1000;
const READY_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 10_000;
const LOG_LINES = 50;
const GAUGE_METRIC = 'prombackup_test_backfill_gauge';
const COUNTER_METRIC = 'prombackup_test_backfill_requests';

// ---------------------------------------------------------------------------
// Binaries

export function findPrometheus(): { prometheus: string; promtool: string } {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean), '/usr/bin', '/usr/local/bin', '/bin'];
  const find = (name: string): string | undefined => {
    for (const dir of dirs) {
      const candidate = path.join(dir, name);
      try {
        accessSync(candidate, fsConstants.X_OK);
        return candidate;
      } catch {
        // not here
      }
    }
    return undefined;
  };
  const prometheus = find('prometheus');
  const promtool = find('promtool');
  if (!prometheus || !promtool) {
    const missing = [!prometheus && 'prometheus', !promtool && 'promtool'].filter(Boolean).join(' and ');
    throw new Error(
      `${missing} not found in PATH or /usr/bin. Integration tests run a real Prometheus: ` +
        `install it with \`apt-get install -y prometheus\` (ships prometheus and promtool).`,
    );
  }
  return { prometheus, promtool };
}

// ---------------------------------------------------------------------------
// Ports

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error('could not read the port of a listening socket'));
        return;
      }
      server.close(() => resolve(address.port));
    });
  });
}

// ---------------------------------------------------------------------------
// Backfill

/** Default end of the backfilled span: a 2h boundary between ~55 min and ~2h55 before now. */
function defaultBackfillEnd(now: number): number {
  // Prometheus starts its head at the newest block's end and compacts the head as soon as it
  // spans more than 3h (1.5 x block range). Keeping the gap under 3h means no compaction kicks
  // in during a test, so the block layout stays exactly as promtool wrote it.
  return Math.floor((now - 55 * 60 * 1000) / TWO_HOURS_MS) * TWO_HOURS_MS;
}

/** Deterministic gauge value for series `s` at sample index `k`. */
function gaugeValue(s: number, k: number): number {
  return ((k * 7 + s * 13) % 100) + s / 4;
}

export async function writeBackfillBlocks(dataDir: string, opts: BackfillOptions = {}): Promise<BackfillRange> {
  const { promtool } = findPrometheus();
  const hours = opts.hours ?? 6;
  const series = opts.series ?? 3;
  const stepMs = (opts.stepSeconds ?? 60) * 1000;
  // OpenMetrics timestamps are in seconds; keep everything on whole steps.
  const end = Math.floor((opts.endMs ?? defaultBackfillEnd(Date.now())) / stepMs) * stepMs;
  const start = end - Math.round(hours * 60 * 60 * 1000);
  const count = Math.floor((end - start) / stepMs);
  if (count < 1 || series < 1) throw new Error(`backfill needs at least one sample and one series (hours=${hours}, series=${series})`);

  // OpenMetrics wants each metric family in one piece and each series' samples in time order.
  const lines: string[] = [];
  lines.push(`# HELP ${GAUGE_METRIC} Synthetic gauge written by the test harness.`);
  lines.push(`# TYPE ${GAUGE_METRIC} gauge`);
  for (let s = 0; s < series; s++) {
    const labels = `{job="backfill",instance="node-${s}",zone="${s % 2 === 0 ? 'a' : 'b'}"}`;
    for (let k = 0; k < count; k++) {
      lines.push(`${GAUGE_METRIC}${labels} ${gaugeValue(s, k)} ${(start + k * stepMs) / 1000}`);
    }
  }
  lines.push(`# HELP ${COUNTER_METRIC} Synthetic counter written by the test harness.`);
  lines.push(`# TYPE ${COUNTER_METRIC} counter`);
  for (let s = 0; s < series; s++) {
    const labels = `{job="backfill",instance="node-${s}",code="${s % 3 === 0 ? '500' : '200'}"}`;
    for (let k = 0; k < count; k++) {
      lines.push(`${COUNTER_METRIC}_total${labels} ${k * (s + 1)} ${(start + k * stepMs) / 1000}`);
    }
  }
  lines.push('# EOF', '');

  const workDir = await fs.mkdtemp(path.join(os.tmpdir(), 'prombackup-backfill-'));
  try {
    const input = path.join(workDir, 'backfill.om');
    await fs.writeFile(input, lines.join('\n'));
    await fs.mkdir(dataDir, { recursive: true });
    const { code, output } = await run(promtool, ['tsdb', 'create-blocks-from', 'openmetrics', '--quiet', input, dataDir]);
    if (code !== 0) throw new Error(`promtool create-blocks-from openmetrics failed (exit ${code}):\n${output}`);
  } finally {
    await fs.rm(workDir, { recursive: true, force: true });
  }
  return { startMs: start, endMs: start + (count - 1) * stepMs, metric: GAUGE_METRIC };
}

function run(cmd: string, args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const log = new LineBuffer(LOG_LINES);
    child.stdout!.on('data', (chunk: Buffer) => log.push(chunk));
    child.stderr!.on('data', (chunk: Buffer) => log.push(chunk));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, output: log.text() }));
  });
}

// ---------------------------------------------------------------------------
// Process lifetime

/**
 * Keeps the first few and the last `max` lines of a stream: Prometheus reports a bad flag on its
 * first line and then prints 100+ lines of usage, while runtime errors come last.
 */
class LineBuffer {
  private readonly head: string[] = [];
  private tail: string[] = [];
  private skipped = 0;
  private partial = '';
  constructor(
    private readonly max: number,
    private readonly headMax = 5,
  ) {}

  push(chunk: Buffer): void {
    const parts = (this.partial + chunk.toString('utf8')).split('\n');
    this.partial = parts.pop() ?? '';
    // Cap an unterminated line too, so one huge line cannot grow without bound.
    if (this.partial.length > 8192) this.partial = this.partial.slice(-8192);
    for (const line of parts) {
      if (this.head.length < this.headMax) this.head.push(line);
      else this.tail.push(line);
    }
    if (this.tail.length > this.max) {
      this.skipped += this.tail.length - this.max;
      this.tail = this.tail.slice(-this.max);
    }
  }

  text(): string {
    const skipped = this.skipped > 0 ? [`[... ${this.skipped} lines skipped ...]`] : [];
    return [...this.head, ...skipped, ...this.tail, this.partial].filter(Boolean).join('\n');
  }
}

const liveChildren = new Set<ChildProcess>();
const ownedWorkDirs = new Set<string>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // A test run that ends without stop() (crash, forgotten teardown) must not leave Prometheus
  // behind. Only synchronous work is possible here.
  process.on('exit', () => {
    for (const child of liveChildren) {
      try {
        child.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const dir of ownedWorkDirs) {
      try {
        rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
      } catch {
        // best effort
      }
    }
  });
}

function track(child: ChildProcess): void {
  installExitHook();
  liveChildren.add(child);
  child.once('exit', () => liveChildren.delete(child));
}

/**
 * The 'exit' hook does not run when the test worker itself is SIGKILLed. This tiny shell watches
 * a pipe from us: when our process dies the pipe closes, `cat` returns and it SIGTERMs Prometheus.
 * It runs in its own process group so stop() can remove it (and its `cat`) in one go.
 */
function spawnWatchdog(pid: number): ChildProcess {
  const watchdog = spawn('/bin/sh', ['-c', 'cat >/dev/null; kill -TERM "$1" 2>/dev/null', 'prombackup-watchdog', String(pid)], {
    stdio: ['pipe', 'ignore', 'ignore'],
    detached: true,
  });
  watchdog.on('error', () => {}); // best effort only
  watchdog.stdin!.on('error', () => {});
  watchdog.unref();
  (watchdog.stdin as unknown as { unref?: () => void }).unref?.();
  return watchdog;
}

function killWatchdog(watchdog: ChildProcess): void {
  if (watchdog.pid === undefined) return;
  try {
    process.kill(-watchdog.pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.off('exit', onExit);
      resolve(false);
    }, ms);
    const onExit = () => {
      clearTimeout(timer);
      resolve(true);
    };
    child.once('exit', onExit);
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------
// Prometheus

function configYaml(port: number, scrapeSelf: boolean): string {
  const lines = ['global:', '  scrape_interval: 1s', '  evaluation_interval: 1s'];
  if (scrapeSelf) {
    lines.push(
      'scrape_configs:',
      '  - job_name: prometheus',
      '    scrape_interval: 1s',
      '    scrape_timeout: 1s',
      '    static_configs:',
      `      - targets: ["127.0.0.1:${port}"]`,
    );
  }
  return lines.join('\n') + '\n';
}

export async function startPrometheus(opts: StartOptions = {}): Promise<PrometheusInstance> {
  const { prometheus } = findPrometheus();
  const ownsDataDir = opts.dataDir === undefined;
  const workDir = await fs.mkdtemp(path.join(os.tmpdir(), 'prombackup-prom-'));
  installExitHook();
  ownedWorkDirs.add(workDir);
  const dataDir = opts.dataDir ?? path.join(workDir, 'data');
  const retention = opts.retention ?? '100y';
  const scrapeSelf = opts.scrapeSelf ?? true;

  try {
    await fs.mkdir(dataDir, { recursive: true });
    const backfill = (opts.backfill ?? ownsDataDir) ? await writeBackfillBlocks(dataDir) : undefined;

    // freePort() has a small window in which someone else can take the port; retry on a bind error.
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const configFile = path.join(workDir, 'prometheus.yml');
      await fs.writeFile(configFile, configYaml(port, scrapeSelf));
      const args = [
        `--config.file=${configFile}`,
        `--storage.tsdb.path=${dataDir}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--web.enable-admin-api',
        `--storage.tsdb.retention.time=${retention}`,
        '--log.level=info',
        ...(opts.args ?? []),
      ];
      const started = await launch(prometheus, args, port);
      if ('instance' in started) {
        const { child, log, watchdog } = started;
        const url = `http://127.0.0.1:${port}`;
        let stopping: Promise<void> | undefined;
        const stop = () =>
          (stopping ??= (async () => {
            killWatchdog(watchdog);
            if (child.exitCode === null && child.signalCode === null) {
              child.kill('SIGTERM');
              if (!(await waitForExit(child, STOP_GRACE_MS))) {
                child.kill('SIGKILL');
                await waitForExit(child, STOP_GRACE_MS);
              }
            }
            await fs.rm(workDir, { recursive: true, force: true });
            ownedWorkDirs.delete(workDir);
          })());
        return {
          url,
          port,
          pid: child.pid!,
          dataDir,
          snapshotDir: path.join(dataDir, 'snapshots'),
          backfill,
          logTail: () => log.text(),
          stop,
        };
      }
      if (!started.addressInUse || attempt >= 3) throw new Error(started.message);
    }
  } catch (err) {
    await fs.rm(workDir, { recursive: true, force: true });
    ownedWorkDirs.delete(workDir);
    throw err;
  }
}

type LaunchResult =
  | { instance: true; child: ChildProcess; log: LineBuffer; watchdog: ChildProcess }
  | { addressInUse: boolean; message: string };

async function launch(binary: string, args: string[], port: number): Promise<LaunchResult> {
  const log = new LineBuffer(LOG_LINES);
  // Prometheus logs to stderr; stdout only ever carries --help style usage text.
  const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let spawnError: Error | undefined;
  child.once('error', (err) => (spawnError = err));
  let stderrClosed = false;
  child.stderr!.on('data', (chunk: Buffer) => log.push(chunk));
  child.stderr!.once('close', () => (stderrClosed = true));
  // Do not let a forgotten instance keep the test worker alive; the exit hook kills it.
  child.unref();
  (child.stderr as unknown as { unref?: () => void }).unref?.();
  if (child.pid === undefined) {
    await sleep(10); // let the 'error' event arrive
    return { addressInUse: false, message: `could not start ${binary}: ${spawnError?.message ?? 'unknown error'}` };
  }
  track(child);
  const watchdog = spawnWatchdog(child.pid);

  const url = `http://127.0.0.1:${port}/-/ready`;
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let lastProblem = '';
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      killWatchdog(watchdog);
      // Let the last output lines arrive.
      for (let i = 0; i < 20 && !stderrClosed; i++) await sleep(25);
      const tail = log.text();
      return {
        addressInUse: /address already in use/i.test(tail),
        message: `Prometheus exited before becoming ready (code ${child.exitCode}, signal ${child.signalCode}).\n` + `Last stderr lines:\n${tail}`,
      };
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.ok) return { instance: true, child, log, watchdog };
      lastProblem = `HTTP ${res.status}`;
    } catch (err) {
      lastProblem = (err as Error).message;
    }
    await sleep(100);
  }
  killWatchdog(watchdog);
  child.kill('SIGKILL');
  await waitForExit(child, STOP_GRACE_MS);
  return {
    addressInUse: false,
    message:
      `Prometheus did not become ready at ${url} within ${READY_TIMEOUT_MS / 1000}s (last: ${lastProblem}).\n` +
      `Last stderr lines:\n${log.text()}`,
  };
}

// ---------------------------------------------------------------------------
// HTTP API helpers

interface ApiAnswer<T> {
  status: string;
  data?: T;
  errorType?: string;
  error?: string;
}

async function api<T>(url: string, init?: RequestInit): Promise<T> {
  let res: Response;
  try {
    res = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
  } catch (err) {
    throw new Error(`request to ${url} failed: ${(err as Error).message}`);
  }
  const text = await res.text();
  let body: ApiAnswer<T>;
  try {
    body = JSON.parse(text) as ApiAnswer<T>;
  } catch {
    throw new Error(`${url} answered HTTP ${res.status} with non-JSON: ${text.slice(0, 500)}`);
  }
  if (!res.ok || body.status !== 'success' || body.data === undefined) {
    throw new Error(`${url} answered HTTP ${res.status}: ${body.errorType ?? ''} ${body.error ?? text.slice(0, 500)}`.trim());
  }
  return body.data;
}

/**
 * Waits until at least `minSamples` scraped samples have been committed to the head block.
 * Reads Prometheus' own /metrics (the live counter) rather than a PromQL query, which would
 * lag one scrape behind. Note that Prometheus 2.x starts scraping ~5s after start: discovery
 * results reach the scrape manager at most every 5 seconds.
 */
export async function waitForHeadSamples(url: string, minSamples = 1, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let seen = 0;
  let lastError = '';
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5000) });
      const text = await res.text();
      seen = 0;
      for (const line of text.split('\n')) {
        // e.g. prometheus_tsdb_head_samples_appended_total{type="float"} 730
        const m = /^prometheus_tsdb_head_samples_appended_total(?:\{[^}]*\})?\s+(\S+)/.exec(line);
        if (m) seen += Number(m[1]);
      }
      if (seen >= minSamples) return;
    } catch (err) {
      lastError = (err as Error).message;
    }
    await sleep(200);
  }
  throw new Error(
    `head of ${url} holds ${seen} appended samples after ${timeoutMs / 1000}s, wanted ${minSamples}` +
      (lastError ? ` (last error: ${lastError})` : '') +
      '. Is the self-scrape enabled?',
  );
}

export interface RangeSeries {
  metric: Record<string, string>;
  values: [number, string][];
}

function seriesKey(metric: Record<string, string>): string {
  return JSON.stringify(Object.keys(metric).sort().map((k) => [k, metric[k]]));
}

/** /api/v1/query_range; series sorted by their label set so two instances compare with toEqual. */
export async function queryRange(
  url: string,
  query: string,
  startMs: number,
  endMs: number,
  stepSeconds: number,
): Promise<RangeSeries[]> {
  const params = new URLSearchParams({
    query,
    start: String(startMs / 1000),
    end: String(endMs / 1000),
    step: String(stepSeconds),
  });
  const data = await api<{ resultType: string; result: RangeSeries[] }>(`${url}/api/v1/query_range?${params}`);
  return [...data.result].sort((a, b) => {
    const ka = seriesKey(a.metric);
    const kb = seriesKey(b.metric);
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });
}

/** Direct call to Prometheus' admin API; returns the snapshot folder name under `<dataDir>/snapshots`. */
export async function takeSnapshot(url: string, skipHead = false): Promise<string> {
  const data = await api<{ name: string }>(`${url}/api/v1/admin/tsdb/snapshot?skip_head=${skipHead}`, { method: 'POST' });
  return data.name;
}
