// Hostile and changing files under snapshot_dir, end to end over HTTP: links, FIFOs, sockets,
// unreadable files, files and folders that change while they are streamed, and a snapshot_dir
// that is missing or unreadable. The server runs as "nobody" so that permissions count.
import { randomBytes } from 'node:crypto';
import { constants, openSync } from 'node:fs';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeLargeSnapshot, readArchive, sha256 } from './support/archive';
import { BLOCK, expectNoAbsolutePath, get, json, statusOf, tempDir, writeSmallSnapshot } from './support/downloads';
import { NOBODY, type ServerProcess, startServer } from './support/processes';

/** Bytes that exist only outside snapshot_dir: they must never show up in a download. */
const MARKER = `outside-secret-${randomBytes(8).toString('hex')}`;

describe('hostile files inside a snapshot', () => {
  let base: string;
  let snapshotDir: string;
  let outside: string;
  let server: ServerProcess;

  beforeAll(async () => {
    expect(process.getuid?.(), 'these tests drop to "nobody" and must run as root').toBe(0);
    base = await tempDir('pb-hostile-');
    snapshotDir = path.join(base, 'snapshots');
    outside = path.join(base, 'outside');
    await fs.mkdir(snapshotDir);
    await fs.mkdir(outside);
    await fs.writeFile(path.join(outside, 'secret'), MARKER.repeat(100));
    await fs.writeFile(path.join(outside, 'meta.json'), MARKER);
    server = await startServer(['-snapshot_dir', snapshotDir, '-prometheus_endpoint', 'http://127.0.0.1:9'], {}, NOBODY);
  });

  afterAll(async () => {
    await server?.stop();
    if (base) await fs.rm(base, { recursive: true, force: true });
  });

  const download = (name: string, format = 'tar', midStream?: () => Promise<void>) =>
    get(`${server.url}/api/download?name=${name}&format=${format}`, midStream);

  /** Downloads `name`, expects a failed status whose text matches every pattern; returns the text. */
  async function expectFailedDownload(name: string, patterns: RegExp[], format = 'tar', midStream?: () => Promise<void>) {
    const received = await download(name, format, midStream);
    expect(received.status).toBe(200);
    expect(received.id).toBeTruthy();
    const finished = await statusOf(server, received.id);
    expect(finished.success).toBe(false);
    const text = finished.error_text ?? '';
    for (const pattern of patterns) expect(text).toMatch(pattern);
    expectNoAbsolutePath(text, base);
    expect(received.body.includes(MARKER)).toBe(false);
    // The client sees a cut connection, not a well-formed archive.
    expect(received.complete).toBe(false);
    return { text, received };
  }

  it.each([
    ['a file link to an absolute path outside', 'abs', 'index', () => path.join(base, 'outside', 'secret')],
    ['a folder link, relative, out of the snapshot', 'rel', 'chunks', () => '../../../outside'],
    ['a link to a file inside the same snapshot', 'inside', 'index', () => 'meta.json'],
  ])('never follows %s: the status says unsupported, naming the entry', async (_, suffix, entry, target) => {
    const name = `20990101T000000Z-link${suffix}`;
    await writeSmallSnapshot(snapshotDir, name);
    await fs.rm(path.join(snapshotDir, name, BLOCK, entry), { recursive: true });
    await fs.symlink(target(), path.join(snapshotDir, name, BLOCK, entry));
    await expectFailedDownload(name, [
      new RegExp(`^${name}/${BLOCK}/${entry} is a symbolic link`),
      /unsupported/,
      /never followed/,
    ]);
  });

  it('refuses a snapshot folder that is itself a link, in downloads, the list and pruning', async () => {
    const linked = '20200101T000000Z-linkedfolder';
    await fs.symlink(outside, path.join(snapshotDir, linked));
    try {
      const res = await fetch(`${server.url}/api/download?name=${linked}`);
      expect(res.status).toBe(404);
      const body = await json(res);
      expect(body.message).toMatch(/symbolic link, which is never followed/);
      expectNoAbsolutePath(body.message, base);

      const list = (await (await fetch(`${server.url}/api/snapshots`)).json()) as { snapshots: { name: string }[] };
      expect(list.snapshots.map((s) => s.name)).not.toContain(linked);

      // The name is old enough to prune: the link must not be followed into what it points at.
      const prune = await fetch(`${server.url}/api/prune?keep_within=1h`, { method: 'POST' });
      expect(prune.status).toBe(200);
      expect(((await prune.json()) as { removed: string[] }).removed).not.toContain(linked);
      expect(await fs.readFile(path.join(outside, 'meta.json'), 'utf8')).toBe(MARKER);
    } finally {
      await fs.rm(path.join(snapshotDir, linked), { force: true });
    }
  });

  it('reports a FIFO without opening it: no hang, failed status naming it', async () => {
    const name = '20990101T000000Z-fifo';
    await writeSmallSnapshot(snapshotDir, name);
    const fifo = path.join(snapshotDir, name, BLOCK, 'index');
    await fs.rm(fifo);
    execFileSync('mkfifo', [fifo]);
    const started = Date.now();
    await expectFailedDownload(name, [new RegExp(`^${name}/${BLOCK}/index is a named pipe`), /unsupported/]);
    expect(Date.now() - started).toBeLessThan(5_000);
    // Nobody holds the pipe open for reading: a non-blocking writer finds no reader.
    expect(() => openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK)).toThrow(expect.objectContaining({ code: 'ENXIO' }));
  });

  it('reports a socket without connecting to it', async () => {
    const name = '20990101T000000Z-socket';
    await writeSmallSnapshot(snapshotDir, name);
    const socketPath = path.join(snapshotDir, name, BLOCK, 'sock');
    let connections = 0;
    const listener = net.createServer((c) => {
      connections++;
      c.destroy();
    });
    await new Promise<void>((resolve) => listener.listen(socketPath, resolve));
    try {
      await expectFailedDownload(name, [new RegExp(`^${name}/${BLOCK}/sock is a socket`), /unsupported/]);
      expect(connections).toBe(0);
    } finally {
      await new Promise((r) => listener.close(r));
    }
  });

  it('fails on a file it may not read, naming it', async () => {
    const name = '20990101T000000Z-unreadable';
    await writeSmallSnapshot(snapshotDir, name);
    await fs.chmod(path.join(snapshotDir, name, BLOCK, 'index'), 0o000);
    await expectFailedDownload(name, [new RegExp(`cannot read ${name}/${BLOCK}/index: permission denied`)]);
  });

  it('fails on a folder it may not read, naming it', async () => {
    const name = '20990101T000000Z-unreadabledir';
    await writeSmallSnapshot(snapshotDir, name);
    await fs.chmod(path.join(snapshotDir, name, BLOCK, 'chunks'), 0o700);
    await expectFailedDownload(name, [new RegExp(`cannot read ${name}/${BLOCK}/chunks: permission denied`)]);
    // The listing still works: one unreadable snapshot must not break it for the others.
    const list = await fetch(`${server.url}/api/snapshots`);
    expect(list.status).toBe(200);
    expect(((await list.json()) as { snapshots: { name: string }[] }).snapshots.map((s) => s.name)).toContain(name);
  });

  it('answers a clear 503 when pruning finds a snapshot it may not remove', async () => {
    const name = '20200101T000000Z-notmine';
    await writeSmallSnapshot(snapshotDir, name); // root's, in a folder nobody may not write to
    try {
      const res = await fetch(`${server.url}/api/prune?keep_within=1h`, { method: 'POST' });
      expect(res.status).toBe(503);
      const body = await json(res);
      expect(body.message).toMatch(new RegExp(`cannot remove snapshot ${name}: permission denied \\(EACCES\\); pruning needs write access`));
      expectNoAbsolutePath(body.message, base);
      expect((await fs.stat(path.join(snapshotDir, name, BLOCK, 'index'))).isFile()).toBe(true);
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    } finally {
      await fs.rm(path.join(snapshotDir, name), { recursive: true, force: true });
    }
  });

  describe('changes while a download streams (64 MiB, slow reader)', () => {
    it.each(['tar', 'tzst'])('a file truncated mid-stream fails the %s download, saying so', async (format) => {
      const name = `20990101T000000Z-truncated${format}`;
      await makeLargeSnapshot(snapshotDir, name, 64);
      const chunk = path.join(snapshotDir, name, BLOCK, 'chunks', '000001');
      await expectFailedDownload(
        name,
        [new RegExp(`^${name}/${BLOCK}/chunks/000001 was truncated while it was being streamed`)],
        format,
        () => fs.truncate(chunk, 4096),
      );
    });

    it('a file that grows mid-stream fails the download, saying so', async () => {
      const name = '20990101T000000Z-grown';
      await makeLargeSnapshot(snapshotDir, name, 64);
      const chunk = path.join(snapshotDir, name, BLOCK, 'chunks', '000001');
      await expectFailedDownload(name, [new RegExp(`^${name}/${BLOCK}/chunks/000001 grew while it was being streamed`)], 'tar', () =>
        fs.appendFile(chunk, randomBytes(1024 * 1024)),
      );
    });

    it('the file being streamed removed mid-stream fails the download', async () => {
      const name = '20990101T000000Z-removedcurrent';
      await makeLargeSnapshot(snapshotDir, name, 64);
      await expectFailedDownload(name, [new RegExp(`^${name}/${BLOCK}/chunks/000001 was removed while the snapshot was being streamed`)], 'tar', () =>
        fs.rm(path.join(snapshotDir, name, BLOCK, 'chunks', '000001')),
      );
    });

    it('a file not streamed yet, removed mid-stream, fails the download', async () => {
      const name = '20990101T000000Z-removedlater';
      await makeLargeSnapshot(snapshotDir, name, 64); // chunks/000001, then meta.json
      await expectFailedDownload(name, [new RegExp(`^${name}/${BLOCK}/meta.json was removed while the snapshot was being streamed`)], 'tar', () =>
        fs.rm(path.join(snapshotDir, name, BLOCK, 'meta.json')),
      );
    });

    it.each(['tar', 'tgz'])('the whole snapshot folder removed mid-stream fails the %s download', async (format) => {
      const name = `20990101T000000Z-removedfolder${format}`;
      await makeLargeSnapshot(snapshotDir, name, 64);
      await expectFailedDownload(name, [new RegExp(`^the snapshot folder ${name} was removed while it was being streamed`)], format, () =>
        fs.rm(path.join(snapshotDir, name), { recursive: true }),
      );
    });
  });

  it('keeps serving after all of that, and good snapshots download intact', async () => {
    expect(server.process.exitCode).toBeNull();
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    const name = '20990101T000000Z-intact';
    await writeSmallSnapshot(snapshotDir, name);
    const received = await download(name);
    expect(received.complete).toBe(true);
    const finished = await statusOf(server, received.id);
    expect(finished).toEqual({ success: true, error_text: null, sha256_hex: sha256(received.body) });
    expect((await readArchive(received.body, 'tar')).map((e) => e.name)).toEqual([
      name,
      `${name}/${BLOCK}`,
      `${name}/${BLOCK}/chunks`,
      `${name}/${BLOCK}/chunks/000001`,
      `${name}/${BLOCK}/index`,
      `${name}/${BLOCK}/meta.json`,
    ]);
    const list = (await (await fetch(`${server.url}/api/snapshots`)).json()) as { snapshots: { name: string; in_use: boolean }[] };
    expect(list.snapshots.filter((s) => s.in_use)).toEqual([]);
  });
});

describe('a missing or unreadable snapshot_dir', () => {
  const servers: ServerProcess[] = [];
  const dirs: string[] = [];

  afterAll(async () => {
    for (const s of servers) await s.stop();
    for (const d of dirs) await fs.rm(d, { recursive: true, force: true });
  });

  /** Snapshot list, prune and download: each must answer `status` with a message matching `message`. */
  async function expectRequests(server: ServerProcess, base: string, status: { list: number; prune: number; download: number }, message?: RegExp) {
    const list = await fetch(`${server.url}/api/snapshots`);
    const prune = await fetch(`${server.url}/api/prune?keep_within=1h`, { method: 'POST' });
    const download = await fetch(`${server.url}/api/download?name=20990101T000000Z-anything`);
    expect([list.status, prune.status, download.status]).toEqual([status.list, status.prune, status.download]);
    const bodies = [await json(list), await json(prune), await json(download)];
    for (const [i, body] of bodies.entries()) {
      if ([status.list, status.prune, status.download][i] !== 503) continue;
      expect(body.message).toMatch(message!);
      expectNoAbsolutePath(body.message, base);
    }
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    return bodies;
  }

  /** Once snapshot_dir is back, the same server lists, downloads and prunes again. */
  async function expectRecovered(server: ServerProcess, snapshotDir: string) {
    const name = '20990101T000000Z-backagain';
    await writeSmallSnapshot(snapshotDir, name);
    const list = await fetch(`${server.url}/api/snapshots`);
    expect(list.status).toBe(200);
    expect(((await list.json()) as { snapshots: { name: string }[] }).snapshots.map((s) => s.name)).toEqual([name]);
    const received = await get(`${server.url}/api/download?name=${name}`);
    expect(received.status).toBe(200);
    expect((await statusOf(server, received.id)).success).toBe(true);
    expect((await fetch(`${server.url}/api/prune?keep_within=1h`, { method: 'POST' })).status).toBe(200);
    const ready = (await (await fetch(`${server.url}/readyz`)).json()) as { checks: { snapshot_dir: string } };
    expect(ready.checks.snapshot_dir).toBe('ok');
  }

  it('missing, and its parent too: starts, logs one clear line, answers 503 until the folder appears', async () => {
    const base = await tempDir('pb-nodir-');
    dirs.push(base);
    const snapshotDir = path.join(base, 'data', 'snapshots');
    const server = await startServer(['-snapshot_dir', snapshotDir, '-prometheus_endpoint', 'http://127.0.0.1:9']);
    servers.push(server);
    await new Promise((r) => setTimeout(r, 200));
    const lines = server.log().split('\n').filter((l) => /snapshot_dir does not exist/.test(l));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/WARN/);
    expect(lines[0]).toContain(snapshotDir); // the operator's own setting, in the log only

    await expectRequests(server, base, { list: 503, prune: 503, download: 503 }, /snapshot_dir does not exist.*check -snapshot_dir/);
    const ready = await fetch(`${server.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { checks: { snapshot_dir: string } }).checks.snapshot_dir).toMatch(/does not exist/);

    await fs.mkdir(snapshotDir, { recursive: true });
    await expectRecovered(server, snapshotDir);
  });

  it('missing with its parent there (Prometheus has taken no snapshot yet): an empty list, not an error', async () => {
    const base = await tempDir('pb-nosnaps-');
    dirs.push(base);
    const snapshotDir = path.join(base, 'snapshots');
    const server = await startServer(['-snapshot_dir', snapshotDir, '-prometheus_endpoint', 'http://127.0.0.1:9']);
    servers.push(server);
    await new Promise((r) => setTimeout(r, 200));
    expect(server.log()).not.toMatch(/WARN.*snapshot_dir/);
    expect(server.log()).toMatch(/snapshot_dir does not exist yet \(Prometheus creates it with its first snapshot\)/);

    const [list, prune, download] = await expectRequests(server, base, { list: 200, prune: 200, download: 404 });
    expect(list).toEqual({ snapshots: [] });
    expect(prune).toEqual({ removed: [], skipped_in_use: [] });
    expect(download.message).toMatch(/no snapshot named 20990101T000000Z-anything/);

    await fs.mkdir(snapshotDir);
    await expectRecovered(server, snapshotDir);
  });

  it('unreadable: starts, logs one clear line, answers 503 until it is readable again', async () => {
    const base = await tempDir('pb-lockeddir-');
    dirs.push(base);
    const snapshotDir = path.join(base, 'snapshots');
    await fs.mkdir(snapshotDir, { mode: 0o700 }); // root's; the server runs as nobody
    const server = await startServer(['-snapshot_dir', snapshotDir, '-prometheus_endpoint', 'http://127.0.0.1:9'], {}, NOBODY);
    servers.push(server);
    await new Promise((r) => setTimeout(r, 200));
    const lines = server.log().split('\n').filter((l) => /cannot read snapshot_dir/.test(l));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/WARN.*permission denied/);

    await expectRequests(server, base, { list: 503, prune: 503, download: 503 }, /cannot read snapshot_dir: permission denied/);

    await fs.chmod(snapshotDir, 0o777);
    await expectRecovered(server, snapshotDir);
  });
});
