// The archive equals the snapshot folder, or its download fails: end to end over HTTP, with the
// server running as "nobody". Folders swapped for links to the outside before, while and after
// their files are read; files and folders changed after they were sent; names that cannot be
// written exactly; times the tar header cannot hold.
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeLargeSnapshot, readArchive, sha256 } from './support/archive';
import { BLOCK, expectNoAbsolutePath, get, statusOf, tempDir, writeSmallSnapshot } from './support/downloads';
import { NOBODY, type ServerProcess, startServer } from './support/processes';

/** Sorts before BLOCK: its files are sent before BLOCK's large chunk file. */
const EARLY = '01HAAAAAAAAAAAAAAAAAAAAAAA';
/** Sorts after BLOCK: its files are sent after BLOCK's large chunk file. */
const LATE = '01HZZZZZZZZZZZZZZZZZZZZZZZ';
const MARKER = `outside-secret-${randomBytes(8).toString('hex')}`;
const PASSWD = (() => {
  try {
    return execFileSync('head', ['-c', '64', '/etc/passwd']);
  } catch {
    return Buffer.from('root:x:0:0:');
  }
})();

describe('the archive is the snapshot, exactly, or the download fails', () => {
  let base: string;
  let snapshotDir: string;
  let outside: string;
  let server: ServerProcess;

  beforeAll(async () => {
    expect(process.getuid?.(), 'these tests drop to "nobody" and must run as root').toBe(0);
    base = await tempDir('pb-integrity-');
    snapshotDir = path.join(base, 'snapshots');
    outside = path.join(base, 'outside');
    await fs.mkdir(snapshotDir);
    // What a swapped link leads to: the names a block has, holding bytes that must never leave.
    await fs.mkdir(path.join(outside, 'chunks'), { recursive: true });
    for (const file of ['index', 'meta.json', 'chunks/000001']) await fs.writeFile(path.join(outside, file), MARKER.repeat(10));
    await fs.chmod(outside, 0o755);
    server = await startServer(['-snapshot_dir', snapshotDir, '-prometheus_endpoint', 'http://127.0.0.1:9'], {}, NOBODY);
  });

  afterAll(async () => {
    await server?.stop();
    if (base) await fs.rm(base, { recursive: true, force: true });
  });

  /**
   * A snapshot with a small block before BLOCK, BLOCK's 48 MiB chunk file (during which the
   * download pauses for `change`), and a small block after it.
   */
  async function snapshotWithBlocks(name: string): Promise<string> {
    const folder = await makeLargeSnapshot(snapshotDir, name, 48);
    for (const block of [EARLY, LATE]) {
      await fs.mkdir(path.join(folder, block, 'chunks'), { recursive: true });
      await fs.writeFile(path.join(folder, block, 'chunks', '000001'), randomBytes(32 * 1024));
      await fs.writeFile(path.join(folder, block, 'index'), randomBytes(4096));
      await fs.writeFile(path.join(folder, block, 'meta.json'), `{"ulid":"${block}"}`);
    }
    return folder;
  }

  async function failedDownload(name: string, change?: () => Promise<void>, format = 'tar') {
    // Past EARLY's few kilobytes: the server is inside BLOCK's 48 MiB chunk file when `change` runs.
    const received = await get(`${server.url}/api/download?name=${name}&format=${format}`, change, 30_000, 2 * 1024 * 1024);
    expect(received.status).toBe(200);
    const finished = await statusOf(server, received.id);
    expect(finished.success, finished.error_text ?? '').toBe(false);
    expect(received.complete).toBe(false);
    expect(received.body.includes(MARKER)).toBe(false);
    expect(received.body.includes(PASSWD)).toBe(false);
    expectNoAbsolutePath(finished.error_text ?? '', base);
    return finished.error_text ?? '';
  }

  /** Moves a folder of the snapshot away (out of it) and puts a link to `target` in its place. */
  async function swapForLink(folder: string, target: string): Promise<void> {
    await fs.rename(folder, path.join(base, `moved-${randomBytes(4).toString('hex')}`));
    await fs.symlink(target, folder);
  }

  describe('a folder swapped for a link to a folder outside', () => {
    it('while its own files are read: nothing from outside, and the download fails naming it', async () => {
      const name = '20990101T000000Z-swapduring';
      const folder = await snapshotWithBlocks(name);
      const text = await failedDownload(name, () => swapForLink(path.join(folder, BLOCK), outside));
      expect(text).toBe(`${name}/${BLOCK} was replaced by a symbolic link while the snapshot was being streamed`);
    });

    it.each(['tar', 'tzst'])('before its files are read (%s): never entered, the download fails naming it', async (format) => {
      const name = `20990101T000000Z-swapbefore${format}`;
      const folder = await snapshotWithBlocks(name);
      const text = await failedDownload(name, () => swapForLink(path.join(folder, LATE), outside), format);
      expect(text).toBe(`${name}/${LATE} became a symbolic link while the snapshot was being streamed: unsupported, links are never followed`);
    });

    it('to /etc, holding a file named like one of /etc', async () => {
      const name = '20990101T000000Z-swapetc';
      const folder = await snapshotWithBlocks(name);
      await fs.mkdir(path.join(folder, 'zz-etc'));
      await fs.writeFile(path.join(folder, 'zz-etc', 'passwd'), 'not the system one');
      const text = await failedDownload(name, () => swapForLink(path.join(folder, 'zz-etc'), '/etc'));
      expect(text).toMatch(new RegExp(`^${name}/zz-etc became a symbolic link`));
    });

    it('after its files were read: the download fails naming it', async () => {
      const name = '20990101T000000Z-swapafter';
      const folder = await snapshotWithBlocks(name);
      const text = await failedDownload(name, () => swapForLink(path.join(folder, EARLY), outside));
      expect(text).toBe(`${name}/${EARLY} was replaced by a symbolic link while the snapshot was being streamed`);
    });
  });

  describe('changes after a file was sent, and additions', () => {
    const cases: [string, (folder: string) => Promise<unknown>, (name: string) => string][] = [
      ['a sent file removed', (f) => fs.rm(path.join(f, EARLY, 'index')), (n) => `${n}/${EARLY}/index was removed`],
      ['a sent file appended to', (f) => fs.appendFile(path.join(f, EARLY, 'index'), 'more'), (n) => `${n}/${EARLY}/index changed size (4096 bytes were sent, it has 4100 now)`],
      ['a sent file rewritten in place', (f) => fs.writeFile(path.join(f, EARLY, 'index'), randomBytes(4096)), (n) => `${n}/${EARLY}/index was modified`],
      ['a new file in a sent folder', (f) => fs.writeFile(path.join(f, EARLY, 'tombstones'), ''), (n) => `${n}/${EARLY}/tombstones appeared`],
      ['a new block folder', (f) => fs.mkdir(path.join(f, '01H0000000000000000000000')), (n) => `${n}/01H0000000000000000000000 appeared`],
    ];

    it.each(cases)('%s: the download fails naming it', async (label, change, message) => {
      const name = `20990101T000000Z-changed${cases.findIndex(([l]) => l === label)}`;
      const folder = await snapshotWithBlocks(name);
      const text = await failedDownload(name, () => change(folder).then(() => undefined));
      expect(text.startsWith(message(name)), text).toBe(true);
      expect(text).toMatch(/ while the snapshot was being streamed$/);
    });

    it('an unchanged snapshot still downloads whole, and a file gaining a hard link meanwhile does not fail it', async () => {
      const name = '20990101T000000Z-unchanged';
      const folder = await snapshotWithBlocks(name);
      const received = await get(`${server.url}/api/download?name=${name}`, () =>
        fs.link(path.join(folder, EARLY, 'index'), path.join(base, 'another-snapshot-index')),
      );
      expect(received.complete).toBe(true);
      expect(await statusOf(server, received.id)).toEqual({ success: true, error_text: null, sha256_hex: sha256(received.body) });
    });
  });

  describe('names', () => {
    it.each(['..\\..\\escape.txt', 'a\\b'])('a backslash (%s) fails the download naming the file; no entry leaves the snapshot', async (file) => {
      const name = `20990101T000000Z-backslash${file.length}`;
      const folder = await writeSmallSnapshot(snapshotDir, name);
      await fs.writeFile(path.join(folder, BLOCK, file), 'x');
      const text = await failedDownload(name);
      expect(text).toBe(`${name}/${BLOCK}/${file} has a backslash in its name, which the archive writer would turn into a folder separator: it is not archived`);
    });

    it('a name that is not UTF-8 fails the download saying so, and the snapshot stays listed', async () => {
      const name = '20990101T000000Z-notutf8';
      const folder = await writeSmallSnapshot(snapshotDir, name);
      await fs.writeFile(Buffer.from(`${folder}/${BLOCK}/caf\xe9`, 'latin1'), 'x');
      const text = await failedDownload(name);
      expect(text).toBe(`${name}/${BLOCK}/caf\\xe9 has a name that is not valid UTF-8, which a tar entry cannot keep exactly: it is not archived`);
      const list = (await (await fetch(`${server.url}/api/snapshots`)).json()) as { snapshots: { name: string; size_bytes: number }[] };
      const listed = list.snapshots.find((s) => s.name === name);
      expect(listed?.size_bytes).toBe(64 * 1024 + 4096 + '{"ulid":"x"}'.length + 1);
    });
  });

  it('keeps times the tar header cannot hold exactly, as GNU tar restores them', async () => {
    const name = '20990101T000000Z-times';
    const folder = await writeSmallSnapshot(snapshotDir, name);
    const times: [string, string][] = [
      [`${BLOCK}/index`, '1960-06-01 12:00:00.5 UTC'],
      [`${BLOCK}/meta.json`, '@10000000000'],
      [`${BLOCK}/chunks/000001`, '@1700000000.123456789'],
    ];
    for (const [file, when] of times) execFileSync('touch', ['-d', when, path.join(folder, file)]);
    const received = await get(`${server.url}/api/download?name=${name}`);
    expect((await statusOf(server, received.id)).success).toBe(true);
    const archive = path.join(base, 'times.tar');
    const out = path.join(base, 'times');
    await fs.writeFile(archive, received.body);
    await fs.mkdir(out);
    execFileSync('tar', ['-xf', archive, '-C', out]);
    for (const [file] of times) {
      const [original, restored] = await Promise.all([
        fs.lstat(path.join(folder, file), { bigint: true }),
        fs.lstat(path.join(out, name, file), { bigint: true }),
      ]);
      expect([file, restored.mtimeNs]).toEqual([file, original.mtimeNs]);
    }
    // Readers that ignore PAX still get the whole second, clamped into the header's range.
    const entries = await readArchive(received.body, 'tar');
    expect(entries.find((e) => e.name === `${name}/${BLOCK}/chunks/000001`)?.mtimeSeconds).toBe(1_700_000_000);
  });
});
