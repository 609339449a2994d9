// prombackup restore on real archives of a real Prometheus: every format and a sync-style folder
// into an empty folder and into a TSDB with other data, started on and queried; and each refusal
// leaving TSDB_DIR as it was.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pack } from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_BIN, type ServerProcess, runCli, startServer } from './support/processes';
import { type PrometheusInstance, queryRange, startPrometheus, waitForHeadSamples, writeBackfillBlocks } from './support/prometheus';
import { BACKFILL_QUERIES, blockFolders, expectSameAnswers, listTree } from './support/tsdb';

let prom: PrometheusInstance;
let server: ServerProcess;
let work: string;
const archives: Record<'tar' | 'tgz' | 'tzst', string> = { tar: '', tgz: '', tzst: '' };

beforeAll(async () => {
  prom = await startPrometheus();
  await waitForHeadSamples(prom.url);
  server = await startServer(['-prometheus_endpoint', prom.url, '-snapshot_dir', prom.snapshotDir]);
  work = await fs.mkdtemp(path.join(os.tmpdir(), 'pb-restore-'));
  for (const format of ['tar', 'tgz', 'tzst'] as const) {
    archives[format] = path.join(work, `backup.${format}`);
    const run = await runCli(['create', '--format', format, '--output', archives[format]], { env: { PROMBACKUP_ENDPOINT: server.url } });
    expect(run.code, run.stderr).toBe(0);
  }
});

afterAll(async () => {
  await server?.stop();
  await prom?.stop();
  if (work) await fs.rm(work, { recursive: true, force: true });
});

/** Whether this test may mount (a tmpfs in a mount namespace of its own, as root in a container usually can). */
const CAN_MOUNT = (() => {
  try {
    execFileSync('unshare', ['-m', 'sh', '-c', 'mount -t tmpfs probe "$1"', 'sh', os.tmpdir()], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

const span = () => ({ start: prom.backfill!.startMs, end: prom.backfill!.endMs });

async function restore(args: string[]) {
  const run = await runCli(['restore', ...args, '--json']);
  return { ...run, json: run.stdout.length > 0 ? JSON.parse(run.stdout.toString()) : undefined };
}

/** Starts Prometheus on `dir` with the retention restore asked for, and compares the backfill span with the source. */
async function expectServesSource(dir: string, retentionDays: number) {
  const restored = await startPrometheus({ dataDir: dir, backfill: false, scrapeSelf: false, retention: `${retentionDays}d` });
  try {
    await expectSameAnswers(restored, prom, span().start, span().end);
  } finally {
    await restored.stop();
  }
}

async function freshDir(name: string) {
  return fs.mkdtemp(path.join(work, `${name}-`));
}

describe('restore', () => {
  it.each(['tar', 'tgz', 'tzst'] as const)('puts a %s archive into an empty folder that Prometheus serves like the source', async (format) => {
    const to = path.join(await freshDir(format), 'data');
    const { code, json, stderr } = await restore([archives[format], '--to', to]);
    expect(code, stderr).toBe(0);
    expect(json.checksum).toBe('verified');
    expect(json.passes).toBe(1);
    expect(json.blocks_restored.length).toBeGreaterThanOrEqual(3);
    expect(json.blocks_restored).toEqual(await blockFolders(to));
    expect(json.prometheus_command).toBe(`prometheus --storage.tsdb.path=${to} --storage.tsdb.retention.time=${json.retention_days}d`);
    expect((await fs.readdir(to)).filter((n) => n.startsWith('.'))).toEqual([]);
    expect(await stagingBeside(to)).toEqual([]);
    await expectServesSource(to, json.retention_days);
  });

  it.skipIf(!CAN_MOUNT)('reads the archive twice when TSDB_DIR is a mount point, where nothing can be renamed in from beside it, and says so', async () => {
    const to = await freshDir('mounted');
    // A mount namespace of its own (unshare -m), in which TSDB_DIR is a tmpfs that vanishes with it: listed from inside.
    const script = 'mount -t tmpfs tsdb "$1" && "$2" "$3" restore "$4" --to "$1" && echo --- && ls -A "$1"';
    const out = execFileSync('unshare', ['-m', 'sh', '-c', script, 'sh', to, process.execPath, CLI_BIN, archives.tzst], { encoding: 'utf8' });
    const [human, listing] = out.split('\n---\n');
    expect(human).toContain(`${to}: it is a mount point (another file system than ${path.dirname(to)}); so ${archives.tzst} is read twice`);
    expect(human).toMatch(/restored \d+ block\(s\)/);
    const restored = listing.trim().split('\n').filter((n) => n !== 'lock');
    expect(restored.length).toBeGreaterThanOrEqual(3);
    expect(restored.every((n) => /^[0-9A-Z]{26}$/.test(n))).toBe(true);
    expect(await stagingBeside(to)).toEqual([]);
  });

  it('adds the blocks to a TSDB that holds other data, which stays', async () => {
    const to = await freshDir('other');
    const older = await writeBackfillBlocks(to, { hours: 4, endMs: Math.floor((span().start - 24 * 3600_000) / 7_200_000) * 7_200_000 });
    const before = await blockFolders(to);
    const reference = await startPrometheus({ dataDir: await copyOf(to), backfill: false, scrapeSelf: false });
    const olderAnswers = await Promise.all(BACKFILL_QUERIES.map((q) => queryRange(reference.url, q, older.startMs, older.endMs, 60)));
    await reference.stop();

    const { code, json, stderr } = await restore([archives.tzst, '--to', to]);
    expect(code, stderr).toBe(0);
    expect(json.blocks_overlapping).toEqual([]);
    expect(await blockFolders(to)).toEqual([...before, ...json.blocks_restored].sort());
    const restored = await startPrometheus({ dataDir: to, backfill: false, scrapeSelf: false, retention: `${json.retention_days}d` });
    try {
      await expectSameAnswers(restored, prom, span().start, span().end);
      expect(await Promise.all(BACKFILL_QUERIES.map((q) => queryRange(restored.url, q, older.startMs, older.endMs, 60)))).toEqual(olderAnswers);
    } finally {
      await restored.stop();
    }
  });

  it('restores a sync-style folder of blocks, ignoring the sync tool\'s own files', async () => {
    const source = await freshDir('sync');
    execFileSync('tar', ['-xf', archives.tar, '-C', source, '--strip-components=1']);
    await fs.writeFile(path.join(source, '.prombackup-sync.lock'), '');
    await fs.mkdir(path.join(source, '.prombackup-sync-tmp-01HAAAAAAAAAAAAAAAAAAAAAAA'));
    const to = path.join(await freshDir('from-sync'), 'data');
    const { code, json, stderr } = await restore([source, '--to', to]);
    expect(code, stderr).toBe(0);
    expect(json.checksum).toBe('none');
    expect(json.blocks_restored).toEqual(await blockFolders(source));
    await expectServesSource(to, json.retention_days);
    // The same folder packed by GNU tar, blocks at the top as ./ULID in directory order, and a wal beside them.
    await fs.mkdir(path.join(source, 'wal'));
    await fs.writeFile(path.join(source, 'wal', '00000000'), 'log');
    const bare = path.join(work, 'bare.tar.gz');
    execFileSync('tar', ['-czf', bare, '-C', source, '--exclude=./.prombackup*', '.']);
    const fromBare = await restore([bare, '--to', path.join(await freshDir('from-bare'), 'data')]);
    expect(fromBare.code, fromBare.stderr).toBe(0);
    expect(fromBare.json).toMatchObject({ checksum: 'absent', blocks_restored: json.blocks_restored, left_out: ['wal'] });
  });

  it('skips a block that is already there and identical, and reports overlaps with other blocks', async () => {
    const to = await freshDir('twice');
    const first = await restore([archives.tgz, '--to', to]);
    expect(first.code).toBe(0);
    const again = await restore([archives.tgz, '--to', to]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.json.blocks_restored).toEqual([]);
    expect(again.json.blocks_skipped).toEqual(first.json.blocks_restored.map((ulid: string) => ({ ulid, reason: 'already there, identical' })));
    // A fresh folder with only the overlapping block: the backup's blocks are reported against it.
    const overlapDir = await freshDir('overlap');
    await writeBackfillBlocks(overlapDir, { hours: 2, endMs: span().end + 60_000 });
    const human = await runCli(['restore', archives.tar, '--to', overlapDir]);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout.toString()).toMatch(/shares time with .* before 2\.39 it starts only with --storage\.tsdb\.allow-overlapping-blocks/);
  });

  it('--from and --until restore only the blocks that overlap the range', async () => {
    const to = await freshDir('range');
    const from = new Date(span().start + 10 * 60_000).toISOString();
    const until = String(Math.floor((span().start + 20 * 60_000) / 1000));
    const { code, json, stderr } = await restore([archives.tzst, '--to', to, '--from', from, '--until', until]);
    expect(code, stderr).toBe(0);
    expect(json.blocks_restored).toHaveLength(1);
    expect(json.blocks_outside_range.length).toBeGreaterThanOrEqual(2);
    const meta = JSON.parse(await fs.readFile(path.join(to, json.blocks_restored[0], 'meta.json'), 'utf8'));
    expect(meta.minTime).toBeLessThanOrEqual(span().start + 20 * 60_000);
    expect(meta.maxTime).toBeGreaterThan(span().start + 10 * 60_000);
  });
});

describe('restore refuses, and leaves TSDB_DIR as it was', () => {
  async function expectRefused(args: string[], to: string, message: RegExp, code = 1) {
    const before = await listTree(to);
    const run = await restore([...args, '--to', to]);
    expect(run.code, run.stderr).toBe(code);
    expect(run.json?.error?.message ?? run.stderr).toMatch(message);
    expect(await listTree(to)).toEqual(before);
    expect(await stagingBeside(to)).toEqual([]);
    return run;
  }

  it('a folder whose lock a running program holds, and one a running Prometheus has open without a lock', async () => {
    const to = await freshDir('locked');
    const holder: ChildProcess = spawn('flock', [path.join(to, 'lock'), 'sleep', '300'], { stdio: 'ignore' });
    try {
      for (let i = 0; i < 100 && spawnSyncStatus(['-n', path.join(to, 'lock'), 'true']) === 0; i++) await new Promise((r) => setTimeout(r, 50));
      await expectRefused([archives.tar], to, /is locked by another process/);
    } finally {
      holder.kill('SIGKILL');
    }
    const running = await startPrometheus({ dataDir: await freshDir('running'), backfill: false, scrapeSelf: false });
    try {
      const blocksBefore = await blockFolders(running.dataDir);
      const run = await restore([archives.tar, '--to', running.dataDir]);
      expect(run.code).toBe(1);
      expect(run.json.error.message).toMatch(/is in use: prometheus \(pid \d+\) has .* open/);
      expect(await blockFolders(running.dataDir)).toEqual(blocksBefore);
      expect((await fs.readdir(running.dataDir)).filter((n) => n.startsWith('.'))).toEqual([]);
    } finally {
      await running.stop();
    }
  });

  it('a block that is there and differs', async () => {
    const to = await freshDir('differs');
    const first = await restore([archives.tar, '--to', to]);
    const ulid = first.json.blocks_restored[0];
    await fs.appendFile(path.join(to, ulid, 'tombstones'), 'x');
    await expectRefused([archives.tzst], to, new RegExp(`block ${ulid} is already in .* and differs \\(tombstones differs\\)`));
  });

  it('a .sha256 that does not match, a cut archive and a hostile one; also into a folder that does not exist', async () => {
    const bad = path.join(work, 'bad.tar.zst');
    await fs.copyFile(archives.tzst, bad);
    await fs.writeFile(`${bad}.sha256`, `${'0'.repeat(64)}  bad.tar.zst\n`);
    const empty = await freshDir('refuse');
    await expectRefused([bad], empty, /SHA-256 mismatch/);
    const data = await fs.readFile(archives.tar);
    const cut = path.join(work, 'cut.tar');
    await fs.writeFile(cut, data.subarray(0, data.length - 4096));
    await expectRefused([cut], empty, /cut/);
    const hostile = path.join(work, 'hostile.tar');
    await fs.writeFile(hostile, await hostileTar());
    await expectRefused([hostile], empty, /"snap\/01HAAAAAAAAAAAAAAAAAAAAAAA\/index": a symlink to "\/etc\/passwd"/);
    const missing = path.join(empty, 'not-yet');
    await expectRefused([hostile], missing, /symlink/);
    expect(await fs.stat(missing).catch(() => 'absent')).toBe('absent');
  });

  it('bad flags and arguments, with exit 2', async () => {
    const to = await freshDir('flags');
    await expectRefused([archives.tar, '--from', 'yesterday'], to, /--from "yesterday" is not a time/, 2);
    await expectRefused([archives.tar, '--from', '1700000100', '--until', '1700000000'], to, /--from is after --until/, 2);
    await expectRefused([path.join(work, 'nope.tar')], to, /does not exist/, 2);
    await expectRefused(['/dev/null'], to, /neither an archive file nor a folder/, 2);
    await expectRefused([to], to, /the same folder/, 2);
    // The same folder through a link is the same folder too.
    const viaLink = path.join(await freshDir('link'), 'to');
    await fs.symlink(to, viaLink);
    await expectRefused([to], viaLink, /the same folder/, 2);
    // A link to nothing: said plainly, before the archive is read; the link stays as it was.
    const dangling = path.join(await freshDir('dangling'), 'tsdb');
    await fs.symlink(path.join(work, 'nowhere'), dangling);
    await expectRefused([archives.tar], dangling, new RegExp(`--to ${dangling} is a link to .*nowhere, which does not exist`), 2);
    expect(await fs.readlink(dangling)).toBe(path.join(work, 'nowhere'));
    expect(await fs.readdir(path.dirname(dangling))).toEqual(['tsdb']);
    const noTo = await runCli(['restore', archives.tar]);
    expect(noTo.code).toBe(2);
    expect(noTo.stderr).toMatch(/Missing required flag to/);
  });
});

describe('an interrupted restore', () => {
  it('removes its temporary folders on SIGTERM, exits 143 and says what was in place', async () => {
    // One block with a 300 MB chunk segment (sparse on disk, full in the tar), so that writing it takes a while.
    const source = await freshDir('big');
    const ulid = '01HBBBBBBBBBBBBBBBBBBBBBBB';
    await fs.mkdir(path.join(source, ulid, 'chunks'), { recursive: true });
    await fs.writeFile(path.join(source, ulid, 'meta.json'), JSON.stringify({ ulid, minTime: 0, maxTime: 1000, version: 1 }));
    await fs.writeFile(path.join(source, ulid, 'index'), 'index');
    await fs.writeFile(path.join(source, ulid, 'chunks', '000001'), '');
    await fs.truncate(path.join(source, ulid, 'chunks', '000001'), 300 * 1024 * 1024);
    const archive = path.join(work, 'big.tar');
    execFileSync('tar', ['-cf', archive, '-C', source, ulid]);
    await fs.rm(source, { recursive: true });
    const to = await freshDir('interrupted');
    const child = spawn(process.execPath, [CLI_BIN, 'restore', archive, '--to', to], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    let sawTemp = false;
    while (child.exitCode === null) {
      if ((await stagingBeside(to)).length > 0) {
        sawTemp = true;
        child.kill('SIGTERM');
        break;
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(sawTemp).toBe(true);
    const code = await exited;
    expect(code, stderr).toBe(143);
    expect(stderr).toMatch(/stopped by SIGTERM while restoring into .*; its temporary folders are removed; nothing was put in place/);
    expect((await fs.readdir(to)).filter((n) => n !== 'lock')).toEqual([]);
    expect(await stagingBeside(to)).toEqual([]);
    await fs.rm(archive);
  });
});

/** Restore's hidden staging folders for `to`, beside it. */
async function stagingBeside(to: string): Promise<string[]> {
  return (await fs.readdir(path.dirname(to))).filter((n) => n.startsWith('.prombackup-restore-') && n.endsWith(`-${path.basename(to)}`));
}

function spawnSyncStatus(args: string[]): number {
  try {
    execFileSync('flock', args, { stdio: 'ignore' });
    return 0;
  } catch (err) {
    return (err as { status: number }).status;
  }
}

async function copyOf(dir: string): Promise<string> {
  const copy = await freshDir('copy');
  await fs.cp(dir, copy, { recursive: true });
  return copy;
}

/** A complete block, and beside it a symbolic link where an index would be. */
async function hostileTar(): Promise<Buffer> {
  const p = pack();
  const out: Buffer[] = [];
  p.on('data', (c) => out.push(c as Buffer));
  const ended = new Promise<void>((resolve) => p.on('end', () => resolve()));
  const ulid = '01HAAAAAAAAAAAAAAAAAAAAAAA';
  p.entry({ name: `snap/${ulid}/meta.json` }, JSON.stringify({ ulid, minTime: 0, maxTime: 1 }));
  p.entry({ name: `snap/${ulid}/chunks/000001` }, 'x');
  p.entry({ name: `snap/${ulid}/index`, type: 'symlink', linkname: '/etc/passwd' });
  p.finalize();
  await ended;
  return Buffer.concat(out);
}
