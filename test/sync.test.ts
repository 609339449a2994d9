// prombackup sync DIR against a real Prometheus, the real server and the built CLI: DIR ends up
// with the snapshot's blocks byte for byte, later syncs move only what changed, and faults,
// signals, a second sync and a running Prometheus never leave a half block under a ULID name.
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeFolder } from './support/archive';
import { tempDir } from './support/downloads';
import { type FaultyProxy, startFaultyProxy } from './support/faulty-proxy';
import { CLI_BIN, type ServerProcess, runCli, startServer } from './support/processes';
import { type BackfillRange, type PrometheusInstance, queryRange, startPrometheus, writeBackfillBlocks } from './support/prometheus';

const ULID = /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/;
const HOUR = 3600_000;

let source: string;
let range: BackfillRange;
let prom: PrometheusInstance | undefined;
let server: ServerProcess | undefined;
let proxy: FaultyProxy;
let dir: string;

/** (Re)starts Prometheus on the source folder and a server beside it: Prometheus reads new or removed blocks only at start. */
async function startSource(): Promise<void> {
  await server?.stop();
  await prom?.stop();
  prom = await startPrometheus({ dataDir: source, scrapeSelf: false });
  server = await startServer(['-prometheus_endpoint', prom.url, '-snapshot_dir', prom.snapshotDir]);
  await proxy?.close();
  proxy = await startFaultyProxy(server.url, 2048);
}

interface Tally {
  blocks: number;
  bytes: number;
}
interface SyncJson {
  dir: string;
  snapshot_name: string;
  transferred: Tally & { archive_bytes: number };
  kept: Tally;
  removed: Tally;
  left: Tally;
  total: Tally;
  tombstones_replaced: number;
  replaced: number;
  listing_bytes: number;
  snapshot_removed: boolean;
}

async function sync(args: string[] = [], url = server!.url): Promise<{ code: number | null; json: SyncJson; stderr: string }> {
  const run = await runCli(['sync', dir, '--server', url, '--skip-head', '--json', ...args]);
  const text = run.stdout.toString();
  let json: SyncJson;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`no JSON from sync (exit ${run.code}): ${text}\n${run.stderr}`);
  }
  return { code: run.code, json, stderr: run.stderr };
}

const blocksIn = async (folder: string) => (await fs.readdir(folder)).filter((n) => ULID.test(n)).sort();
const leftovers = async () => (await fs.readdir(dir)).filter((n) => n.startsWith('.prombackup-tmp-'));
const snapshotsOnServer = async () => (await fs.readdir(prom!.snapshotDir).catch(() => [] as string[])).sort();

/** A block folder as describeFolder sees it, without folder times (the listing has none to give them). */
async function blockFiles(folder: string) {
  return (await describeFolder(folder)).map((e) => (e.type === 'directory' ? { ...e, mtimeSeconds: 0, name: e.name } : e));
}

beforeAll(async () => {
  source = await tempDir('pb-sync-src-');
  range = await writeBackfillBlocks(source);
  await startSource();
  dir = path.join(await tempDir('pb-sync-dst-'), 'copy');
}, 180_000);

afterAll(async () => {
  await proxy?.close();
  await server?.stop();
  await prom?.stop();
  await fs.rm(source, { recursive: true, force: true });
  await fs.rm(path.dirname(dir), { recursive: true, force: true });
});

describe('sync DIR', () => {
  it('first sync creates DIR with the snapshot blocks byte for byte, and Prometheus answers the same queries on it', async () => {
    const { code, json, stderr } = await sync(['--keep-snapshot']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const snap = path.join(prom!.snapshotDir, json.snapshot_name);
    const blocks = await blocksIn(snap);
    expect(blocks.length).toBe(3);
    expect(await blocksIn(dir)).toEqual(blocks);
    for (const ulid of blocks) expect(await blockFiles(path.join(dir, ulid))).toEqual(await blockFiles(path.join(snap, ulid)));
    expect(json.transferred.blocks).toBe(3);
    expect(json.kept.blocks).toBe(0);
    expect(json.total).toEqual(json.transferred.blocks === 3 ? { blocks: 3, bytes: json.transferred.bytes } : undefined);
    expect(json.snapshot_removed).toBe(false);
    expect(await leftovers()).toEqual([]);
    await fs.rm(snap, { recursive: true });

    // A copy, so that whatever Prometheus writes into its data folder stays out of the later syncs.
    const copy = `${dir}-prom`;
    await fs.cp(dir, copy, { recursive: true, preserveTimestamps: true });
    const started = await startPrometheus({ dataDir: copy, scrapeSelf: false, retention: '100y' });
    try {
      for (const query of [range.metric, 'prombackup_test_backfill_requests_total']) {
        const want = await queryRange(prom!.url, query, range.startMs, range.endMs, 60);
        expect(want.length).toBeGreaterThan(0);
        expect(await queryRange(started.url, query, range.startMs, range.endMs, 60)).toEqual(want);
      }
    } finally {
      await started.stop();
      await fs.rm(copy, { recursive: true, force: true });
    }
  });

  it('a second sync with nothing new transfers no block, only the listing, and removes the snapshot', async () => {
    const { code, json } = await sync();
    expect(code).toBe(0);
    expect(json.transferred).toEqual({ blocks: 0, bytes: 0, archive_bytes: 0 });
    expect(json.kept.blocks).toBe(3);
    expect(json.listing_bytes).toBeGreaterThan(0);
    expect(json.snapshot_removed).toBe(true);
    expect(await snapshotsOnServer()).toEqual([]);
  });

  it('a new block on the source is the only one transferred', async () => {
    const before = await blocksIn(dir);
    await writeBackfillBlocks(source, { endMs: range.startMs - 2 * HOUR, hours: 2 });
    await startSource();
    const { code, json } = await sync();
    expect(code).toBe(0);
    expect(json.transferred.blocks).toBe(1);
    expect(json.kept.blocks).toBe(3);
    const after = await blocksIn(dir);
    expect(after.filter((u) => !before.includes(u))).toHaveLength(1);
    expect(after).toEqual(await blocksIn(source));
  });

  it('a block removed on the source stays with --keep-removed, and goes with the next sync', async () => {
    const [oldest] = await blocksIn(source);
    await fs.rm(path.join(source, oldest), { recursive: true });
    await startSource();
    const kept = await sync(['--keep-removed']);
    expect(kept.code).toBe(0);
    expect(kept.json.left.blocks).toBe(1);
    expect(kept.json.removed.blocks).toBe(0);
    expect(await blocksIn(dir)).toContain(oldest);

    const { code, json } = await sync();
    expect(code).toBe(0);
    expect(json.removed.blocks).toBe(1);
    expect(json.transferred.blocks).toBe(0);
    expect(await blocksIn(dir)).toEqual(await blocksIn(source));
    expect(await leftovers()).toEqual([]);
  });

  it('deleted series (new tombstones, and meta.json counting them) replace only those two files of that block', async () => {
    const blocks = await blocksIn(dir);
    const target = blocks[blocks.length - 1];
    const meta = JSON.parse(await fs.readFile(path.join(dir, target, 'meta.json'), 'utf8'));
    const inodes = async () => Object.fromEntries(await Promise.all(['index', 'meta.json', 'chunks/000001', 'tombstones'].map(async (f) => [f, (await fs.stat(path.join(dir, target, f))).ino])));
    const before = await inodes();
    const params = new URLSearchParams({ 'match[]': `${range.metric}{instance="node-0"}`, start: String(meta.minTime / 1000), end: String((meta.maxTime - 1) / 1000) });
    const res = await fetch(`${prom!.url}/api/v1/admin/tsdb/delete_series?${params}`, { method: 'POST' });
    expect(res.status).toBe(204);

    const { code, json, stderr } = await sync();
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(json.transferred.blocks).toBe(1);
    expect(json.tombstones_replaced).toBe(1);
    const after = await inodes();
    expect(after.tombstones).not.toBe(before.tombstones);
    // Prometheus rewrites meta.json too (stats.numTombstones); index and chunks stay the same files.
    expect({ ...after, tombstones: 0, 'meta.json': 0 }).toEqual({ ...before, tombstones: 0, 'meta.json': 0 });
    for (const file of ['tombstones', 'meta.json']) expect(await fs.readFile(path.join(dir, target, file))).toEqual(await fs.readFile(path.join(source, target, file)));
    expect(await blockFiles(path.join(dir, target))).toEqual(await blockFiles(path.join(source, target)));
    expect((await sync()).json.transferred.blocks).toBe(0);
  });
});

/** A sync started in the background (through the stalling proxy, say), for signals and a second sync beside it. */
function startSync(args: string[]): { child: ChildProcess; done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> } {
  const child = spawn(process.execPath, [CLI_BIN, 'sync', dir, '--skip-head', ...args], { env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  child.stdout!.resume();
  return { child, done: new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal, stderr }))) };
}

/** Waits until a sync has made the folder for a block in its temporary folder (its download then starts); returns the temporary folder. */
async function downloading(run: ReturnType<typeof startSync>): Promise<string> {
  for (const deadline = Date.now() + 30_000; ; ) {
    for (const temp of await leftovers()) {
      if ((await fs.readdir(path.join(dir, temp)).catch(() => [] as string[])).some((n) => ULID.test(n))) return path.join(dir, temp);
    }
    if (run.child.exitCode !== null || Date.now() > deadline) {
      run.child.kill('SIGKILL');
      throw new Error(`the sync did not start downloading: ${(await run.done).stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** stderr as one line: oclif wraps long messages and marks each line with a "›". */
const oneLine = (text: string) => text.replace(/\s*›\s*/g, ' ').replace(/\s+/g, ' ');

/** Takes the two newest blocks out of DIR, so that the next sync has them to download. */
async function dropNewest(n = 2): Promise<string[]> {
  const gone = (await blocksIn(dir)).slice(-n);
  for (const ulid of gone) await fs.rm(path.join(dir, ulid), { recursive: true });
  return blocksIn(dir);
}

describe('sync DIR when things go wrong', () => {
  it.each(['flip-byte', 'cut'] as const)('a download with a %s fails, leaves DIR as it was and no temporary folder; the next sync completes it', async (fault) => {
    const before = await dropNewest();
    proxy.fault = fault;
    try {
      const run = await runCli(['sync', dir, '--server', proxy.url, '--skip-head']);
      expect(run.code).toBe(1);
      // A flipped byte shows as a damaged tar header, a damaged file name or, in file data, a checksum mismatch.
      expect(oneLine(run.stderr)).toMatch(/Error: block [0-9A-Z]{26}: /);
    } finally {
      proxy.fault = 'none';
    }
    expect(await blocksIn(dir)).toEqual(before);
    expect(await leftovers()).toEqual([]);
    expect(await snapshotsOnServer()).toEqual([]);
    const { json } = await sync(['--parallel', '2']);
    expect(json.transferred.blocks).toBe(2);
    // Two downloads at once, both counted: a tar is its files plus headers.
    expect(json.transferred.archive_bytes).toBeGreaterThan(json.transferred.bytes);
    expect(await blocksIn(dir)).toEqual(await blocksIn(source));
  });

  it('a sync killed outright leaves only a hidden folder, which the next sync removes', { timeout: 120_000 }, async () => {
    const before = await dropNewest(1);
    proxy.fault = 'stall';
    try {
      const killed = startSync(['--server', proxy.url]);
      const temp = await downloading(killed);
      killed.child.kill('SIGKILL');
      await killed.done;
      expect(await blocksIn(dir)).toEqual(before);
      expect(await leftovers()).toEqual([path.basename(temp)]);
    } finally {
      proxy.fault = 'none';
    }
    // The killed CLI could not remove its snapshot; the server lets go of it once it notices the closed connection.
    let refusals = '';
    for (const deadline = Date.now() + 45_000; (await snapshotsOnServer()).length > 0 && Date.now() < deadline; ) {
      for (const name of await snapshotsOnServer()) refusals = (await runCli(['delete', name, '--server', server!.url])).stderr;
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(await snapshotsOnServer(), refusals).toEqual([]);
    const run = await runCli(['sync', dir, '--server', server!.url, '--skip-head']);
    expect(run.code).toBe(0);
    expect(oneLine(run.stderr)).toMatch(/removed .*\.prombackup-tmp-.*, left behind by a sync that did not end/);
    expect(await leftovers()).toEqual([]);
    expect(await blocksIn(dir)).toEqual(await blocksIn(source));
  });

  it('a second sync on the same DIR is refused; SIGINT stops the first, removes its temporary folder and its snapshot, and exits 130', async () => {
    const before = await dropNewest(1);
    proxy.fault = 'stall';
    try {
      const first = startSync(['--server', proxy.url]);
      await downloading(first);
      const second = await runCli(['sync', dir, '--server', server!.url, '--skip-head']);
      expect(second.code).toBe(1);
      expect(oneLine(second.stderr)).toContain(`another prombackup sync is running on ${dir}`);
      expect(await snapshotsOnServer()).toHaveLength(1);
      first.child.kill('SIGINT');
      const { code, stderr } = await first.done;
      expect(code).toBe(130);
      expect(stderr).toMatch(/stopped by SIGINT while syncing snapshot \S+; blocks already in place stay, the partial ones are removed; the snapshot is removed from the server/);
    } finally {
      proxy.fault = 'none';
    }
    expect(await blocksIn(dir)).toEqual(before);
    expect(await leftovers()).toEqual([]);
    expect(await snapshotsOnServer()).toEqual([]);
    expect((await sync()).json.transferred.blocks).toBe(1);
  });

  it('refuses a DIR that a running Prometheus holds (its lock file)', async () => {
    const held = `${dir}-held`;
    await fs.cp(dir, held, { recursive: true, preserveTimestamps: true });
    const running = await startPrometheus({ dataDir: held, scrapeSelf: false, args: ['--storage.tsdb.use-lockfile'] });
    try {
      const run = await runCli(['sync', held, '--server', server!.url, '--skip-head']);
      expect(run.code).toBe(1);
      expect(oneLine(run.stderr)).toContain(`${held} is in use: ${path.join(held, 'lock')} is locked`);
      expect(await snapshotsOnServer()).toEqual([]);
    } finally {
      await running.stop();
      await fs.rm(held, { recursive: true, force: true });
    }
  });

  it('refuses a DIR that a running Prometheus uses without a lock file (2.x by default), and leaves it as it was', async () => {
    const used = `${dir}-used`;
    await fs.cp(dir, used, { recursive: true, preserveTimestamps: true });
    const running = await startPrometheus({ dataDir: used, scrapeSelf: false });
    try {
      const before = await fs.readdir(used);
      const run = await runCli(['sync', used, '--server', server!.url, '--skip-head']);
      expect(run.code, run.stderr).toBe(1);
      const quoted = used.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      expect(oneLine(run.stderr)).toMatch(new RegExp(`${quoted} is in use: prometheus \\(pid \\d+\\) has ${quoted}/\\S+ open`));
      expect(await snapshotsOnServer()).toEqual([]);
      // The two lock files are all a refused sync may leave.
      expect((await fs.readdir(used)).filter((n) => !before.includes(n)).sort()).toEqual(['.prombackup-sync.lock', 'lock'].filter((n) => !before.includes(n)));
    } finally {
      await running.stop();
      await fs.rm(used, { recursive: true, force: true });
    }
  });

  it('removes only ULID-named folders the snapshot lacks: other files, links and folders in DIR stay', async () => {
    const outside = await tempDir('pb-sync-outside-');
    try {
      const stray = '01ARZ3NDEKTSV4RRFFQ69G5FAV';
      await fs.mkdir(path.join(dir, stray, 'chunks'), { recursive: true });
      await fs.writeFile(path.join(dir, 'notes.txt'), 'mine');
      await fs.mkdir(path.join(dir, 'other'));
      await fs.writeFile(path.join(dir, '01ARZ3NDEKTSV4RRFFQ69G5FAW'), 'a file with a block name');
      await fs.mkdir(path.join(outside, 'chunks'));
      await fs.writeFile(path.join(outside, 'chunks', '000001'), 'not to be deleted');
      await fs.symlink(outside, path.join(dir, '01ARZ3NDEKTSV4RRFFQ69G5FAX'));
      const { code, json } = await sync();
      expect(code).toBe(0);
      expect(json.removed.blocks).toBe(1);
      const names = await fs.readdir(dir);
      expect(names).not.toContain(stray);
      expect(names).toEqual(expect.arrayContaining(['notes.txt', 'other', '01ARZ3NDEKTSV4RRFFQ69G5FAW', '01ARZ3NDEKTSV4RRFFQ69G5FAX']));
      expect(await fs.readFile(path.join(outside, 'chunks', '000001'), 'utf8')).toBe('not to be deleted');
    } finally {
      await fs.rm(outside, { recursive: true, force: true });
    }
  });

  it.each([
    [['--format', 'zip'], /Expected --format=zip to be one of: tar, tgz, tzst/],
    [['--parallel', '0'], /greater than or equal to 1/],
    [['--parallel', '9'], /less than or equal to 8/],
    [['--parallel', 'two'], /Expected an integer/],
    [['--snapshot-timeout', 'soon'], /--snapshot-timeout: invalid duration "soon"/],
    [['-keep_removed=maybe'], /--keep-removed is a switch/],
    [['-skip_head=perhaps'], /--skip-head is a switch/],
    [['--server', 'ftp://x'], /--server must be an http or https URL/],
    [['--bogus'], /Nonexistent flag: --bogus/],
  ])('refuses %j with exit 2, before a snapshot or DIR exists', async (args, message) => {
    const fresh = path.join(path.dirname(dir), 'never-made');
    const run = await runCli(['sync', fresh, ...(args.includes('--server') ? [] : ['--server', server!.url]), ...args]);
    expect(run.code).toBe(2);
    expect(oneLine(run.stderr)).toMatch(message);
    expect(await fs.stat(fresh).then(() => true, () => false)).toBe(false);
    expect(await snapshotsOnServer()).toEqual([]);
  });

  it('refuses a DIR that is a file, and a missing DIR argument', async () => {
    const file = path.join(path.dirname(dir), 'a-file');
    await fs.writeFile(file, 'x');
    const run = await runCli(['sync', file, '--server', server!.url]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`${file} is not a folder`);
    const none = await runCli(['sync', '--server', server!.url]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('Missing 1 required arg');
    expect(await snapshotsOnServer()).toEqual([]);
  });
});
