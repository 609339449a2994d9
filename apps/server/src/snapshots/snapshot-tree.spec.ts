import { execFileSync } from 'node:child_process';
import { appendFileSync, linkSync, lstatSync, mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SnapshotReadError, UnsupportedEntryError } from './snapshot-errors';
import { SnapshotTree, type WalkStep } from './snapshot-tree';

const NAME = '20240101T000000Z-abcdef';
const SECRET = 'SECRET-OUTSIDE-THE-SNAPSHOT';

describe('SnapshotTree', () => {
  let tmp: string;
  let dir: string;
  let outside: string;
  const trees: SnapshotTree[] = [];

  beforeEach(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'prombackup-tree-'));
    dir = path.join(tmp, 'snapshots', NAME);
    outside = path.join(tmp, 'outside');
    mkdirSync(path.join(dir, 'b', 'chunks'), { recursive: true });
    mkdirSync(path.join(dir, 'a'));
    mkdirSync(outside);
    writeFileSync(path.join(dir, 'b', 'chunks', '000001'), 'chunk data');
    writeFileSync(path.join(dir, 'b', 'index'), 'index data');
    writeFileSync(path.join(dir, 'z'), 'z data');
    // What a folder swapped for a link would lead to: same names, other bytes.
    mkdirSync(path.join(outside, 'chunks'));
    writeFileSync(path.join(outside, 'chunks', '000001'), SECRET);
    writeFileSync(path.join(outside, 'index'), SECRET);
  });

  afterEach(async () => {
    for (const tree of trees.splice(0)) await tree.close().catch(() => undefined);
    rmSync(tmp, { recursive: true, force: true });
  });

  async function open(): Promise<SnapshotTree> {
    const stats = lstatSync(dir);
    const tree = await SnapshotTree.open(dir, NAME, stats);
    trees.push(tree);
    return tree;
  }

  /** Walks the whole tree, reading every file; `each` runs before each step is handled. */
  async function walk(tree: SnapshotTree, each?: (step: WalkStep) => void | Promise<void>): Promise<Map<string, string>> {
    const read = new Map<string, string>();
    for await (const step of tree.entries()) {
      await each?.(step);
      if (!step.open) continue;
      const { handle } = await step.open();
      try {
        read.set(step.entry.relativePath, (await handle.readFile()).toString());
      } finally {
        await handle.close();
      }
    }
    return read;
  }

  it('gives the folder first, then its tree depth first in byte order of names, links and pipes as other', async () => {
    symlinkSync(outside, path.join(dir, 'b', 'link'));
    execFileSync('mkfifo', [path.join(dir, 'pipe')]);
    const seen: [string, string][] = [];
    for await (const { entry } of (await open()).entries()) seen.push([entry.kind, entry.relativePath]);
    expect(seen).toEqual([
      ['directory', NAME],
      ['directory', `${NAME}/a`],
      ['directory', `${NAME}/b`],
      ['directory', `${NAME}/b/chunks`],
      ['file', `${NAME}/b/chunks/000001`],
      ['file', `${NAME}/b/index`],
      ['other', `${NAME}/b/link`],
      ['other', `${NAME}/pipe`],
      ['file', `${NAME}/z`],
    ]);
  });

  it('reads and verifies an untouched tree', async () => {
    const tree = await open();
    const read = await walk(tree);
    expect(read.get(`${NAME}/b/chunks/000001`)).toBe('chunk data');
    await expect(tree.verifyUnchanged()).resolves.toBeUndefined();
  });

  describe('a folder swapped for a link to a folder outside', () => {
    const swap = () => {
      renameSync(path.join(dir, 'b'), path.join(tmp, 'b-moved'));
      symlinkSync(outside, path.join(dir, 'b'));
    };

    it('before the download: listed as a link, never entered', async () => {
      swap();
      const tree = await open();
      const seen: string[] = [];
      for await (const { entry } of tree.entries()) seen.push(`${entry.kind} ${entry.relativePath}`);
      expect(seen).toContain(`other ${NAME}/b`);
      expect(seen.filter((s) => s.includes(`${NAME}/b/`))).toEqual([]);
    });

    it('after listing, before it is entered: the walk fails naming it, nothing outside is opened', async () => {
      const tree = await open();
      const read = new Map<string, string>();
      const error = await walk(tree, ({ entry }) => {
        if (entry.relativePath === `${NAME}/a`) swap();
      }).then(
        (r) => (r.forEach((v, k) => read.set(k, v)), undefined),
        (err: Error) => err,
      );
      expect(error).toBeInstanceOf(UnsupportedEntryError);
      expect(error!.message).toBe(
        `${NAME}/b became a symbolic link while the snapshot was being streamed: unsupported, links are never followed`,
      );
      expect([...read.values()].join()).not.toContain(SECRET);
    });

    it('while its files are read: they come from the folder that was entered, and verification fails', async () => {
      const tree = await open();
      const read = await walk(tree, ({ entry }) => {
        if (entry.relativePath === `${NAME}/b/chunks/000001`) swap();
      });
      expect(read.get(`${NAME}/b/chunks/000001`)).toBe('chunk data');
      expect(read.get(`${NAME}/b/index`)).toBe('index data');
      expect([...read.values()].join()).not.toContain(SECRET);
      await expect(tree.verifyUnchanged()).rejects.toThrow(`${NAME}/b was replaced by a symbolic link while the snapshot was being streamed`);
    });

    it('after its files were read: verification fails', async () => {
      const tree = await open();
      await walk(tree, ({ entry }) => {
        if (entry.relativePath === `${NAME}/z`) swap();
      });
      await expect(tree.verifyUnchanged()).rejects.toThrow(`${NAME}/b was replaced by a symbolic link`);
    });
  });

  it('refuses a file swapped for a link, and one swapped for a named pipe without blocking', async () => {
    let tree = await open();
    await expect(
      walk(tree, ({ entry }) => {
        if (entry.relativePath !== `${NAME}/z`) return;
        rmSync(path.join(dir, 'z'));
        symlinkSync(path.join(outside, 'index'), path.join(dir, 'z'));
      }),
    ).rejects.toThrow(`${NAME}/z became a symbolic link`);
    rmSync(path.join(dir, 'z'));
    writeFileSync(path.join(dir, 'z'), 'z');
    tree = await open();
    await expect(
      walk(tree, ({ entry }) => {
        if (entry.relativePath !== `${NAME}/z`) return;
        rmSync(path.join(dir, 'z'));
        execFileSync('mkfifo', [path.join(dir, 'z')]);
      }),
    ).rejects.toThrow(`${NAME}/z is no longer a regular file`);
  });

  describe('verifyUnchanged() after the last entry', () => {
    const chunk = () => path.join(dir, 'b', 'chunks', '000001');
    const cases: [string, () => void, string][] = [
      ['a sent file removed', () => rmSync(chunk()), `${NAME}/b/chunks/000001 was removed`],
      ['a sent file appended to', () => appendFileSync(chunk(), 'more'), `${NAME}/b/chunks/000001 changed size (10 bytes were sent, it has 14 now)`],
      [
        'a sent file rewritten with the same size and its time put back',
        () => {
          // touch -r copies the times to the nanosecond, so only the change time tells.
          writeFileSync(path.join(tmp, 'times'), '');
          execFileSync('touch', ['-r', chunk(), path.join(tmp, 'times')]);
          writeFileSync(chunk(), 'CHUNK DATA');
          execFileSync('touch', ['-r', path.join(tmp, 'times'), chunk()]);
        },
        `${NAME}/b/chunks/000001 was changed (its change time moved)`,
      ],
      ['a sent file touched', () => utimesSync(chunk(), new Date(), new Date(2000, 0, 1)), `${NAME}/b/chunks/000001 was modified`],
      [
        'a sent file replaced',
        () => (writeFileSync(path.join(tmp, 'new'), 'chunk data'), renameSync(path.join(tmp, 'new'), chunk())),
        `${NAME}/b/chunks/000001 was replaced`,
      ],
      ['a new file in a folder', () => writeFileSync(path.join(dir, 'b', 'tombstones'), ''), `${NAME}/b/tombstones appeared`],
      ['a new block folder', () => mkdirSync(path.join(dir, 'c')), `${NAME}/c appeared`],
      ['a folder whose time moved', () => utimesSync(path.join(dir, 'a'), new Date(), new Date(2000, 0, 1)), `${NAME}/a was modified`],
    ];

    it.each(cases)('fails when %s, naming it', async (_, change, message) => {
      const tree = await open();
      await walk(tree);
      change();
      const error = await tree.verifyUnchanged().then(() => undefined, (err: Error) => err);
      expect(error).toBeInstanceOf(SnapshotReadError);
      expect(error!.message).toMatch(new RegExp(`^${escape(message)}.* while the snapshot was being streamed$`));
    });

    it.each([
      ['gained a hard link (another snapshot taken)', () => linkSync(chunk(), path.join(tmp, 'new-snapshot-link'))],
      ['lost a hard link (the live block compacted away, an older snapshot pruned)', () => rmSync(path.join(tmp, 'live-block-link'))],
      [
        'gained a hard link and lost it again (a snapshot taken and pruned meanwhile)',
        () => (linkSync(chunk(), path.join(tmp, 'short-lived')), rmSync(path.join(tmp, 'short-lived'))),
      ],
    ])('passes when a file only %s', async (_, change) => {
      linkSync(chunk(), path.join(tmp, 'live-block-link'));
      const tree = await open();
      await walk(tree);
      change();
      await expect(tree.verifyUnchanged()).resolves.toBeUndefined();
    });

    it('fails when the snapshot folder itself was removed', async () => {
      const tree = await open();
      await walk(tree);
      rmSync(dir, { recursive: true });
      await expect(tree.verifyUnchanged()).rejects.toThrow(`the snapshot folder ${NAME} was removed while it was being streamed`);
    });
  });

  it('marks a folder another file system is mounted on, and never enters it', async () => {
    mkdirSync(path.join(dir, 'b', 'mounted'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', path.join(dir, 'b', 'mounted')]);
    try {
      writeFileSync(path.join(dir, 'b', 'mounted', 'secret'), SECRET);
      const entries = await (await open()).list();
      const mounted = entries.find((e) => e.relativePath === `${NAME}/b/mounted`);
      expect(mounted?.problem).toBe(`${NAME}/b/mounted is on another file system (something is mounted inside the snapshot): it is not archived`);
      expect(entries.filter((e) => e.relativePath.startsWith(`${NAME}/b/mounted/`))).toEqual([]);
    } finally {
      execFileSync('umount', [path.join(dir, 'b', 'mounted')]);
    }
  });

  describe('names that cannot be entries exactly as they are', () => {
    it('marks a name that is not UTF-8, showing its bytes, and still lists and verifies the rest', async () => {
      writeFileSync(Buffer.from(`${dir}/b/bad-\xff\xfe`, 'latin1'), 'x');
      const tree = await open();
      const entries = await tree.list();
      const bad = entries.find((e) => e.problem);
      expect(bad?.relativePath).toBe(`${NAME}/b/bad-\\xff\\xfe`);
      expect(bad?.problem).toBe(`${NAME}/b/bad-\\xff\\xfe has a name that is not valid UTF-8, which a tar entry cannot keep exactly: it is not archived`);
      expect(entries.filter((e) => e.problem)).toHaveLength(1);
    });

    it.each(['..\\..\\escape.txt', 'a\\b'])('marks a name with a backslash: %s', async (name) => {
      writeFileSync(path.join(dir, 'b', name), 'x');
      const entries = await (await open()).list();
      const marked = entries.filter((e) => e.problem);
      expect(marked.map((e) => e.relativePath)).toEqual([`${NAME}/b/${name}`]);
      expect(marked[0].problem).toMatch(/has a backslash in its name/);
    });

    it('keeps other names byte for byte, UTF-8 beyond ASCII included', async () => {
      writeFileSync(path.join(dir, 'b', 'zürich 東京 🙂'), 'x');
      const entries = await (await open()).list();
      expect(entries.filter((e) => e.problem)).toEqual([]);
      expect(entries.map((e) => e.relativePath)).toContain(`${NAME}/b/zürich 東京 🙂`);
    });
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
