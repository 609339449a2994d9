import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ServerConfig } from '../config/server-config';
import { parseSettings } from '../config/settings';
import {
  SnapshotDirError,
  SnapshotNotFoundError,
  SnapshotStore,
} from './snapshot-store';

const NAME = '20240101T000000Z-abcdef';

function config(snapshotDir: string): ServerConfig {
  return new ServerConfig(parseSettings(['-snapshot_dir', snapshotDir]));
}


describe('SnapshotStore', () => {
  let tmp: string;
  let root: string;
  let outside: string;
  let store: SnapshotStore;

  beforeEach(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'prombackup-store-'));
    root = path.join(tmp, 'snapshots');
    outside = path.join(tmp, 'outside');
    mkdirSync(root);
    mkdirSync(outside);
    writeFileSync(path.join(outside, 'secret'), 'outside the snapshot dir');
    store = new SnapshotStore(config(root));
  });

  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

  describe('folder()', () => {
    it('finds a snapshot folder by name', async () => {
      mkdirSync(path.join(root, NAME));
      const folder = await store.folder(NAME);
      expect(folder.name).toBe(NAME);
      expect(folder.absolutePath).toBe(path.join(root, NAME));
      expect(folder.stats.isDirectory()).toBe(true);
    });

    it('refuses a snapshot folder that is a symbolic link, even to a folder', async () => {
      symlinkSync(outside, path.join(root, NAME));
      await expect(store.folder(NAME)).rejects.toThrow(SnapshotNotFoundError);
      await expect(store.folder(NAME)).rejects.toThrow(/symbolic link/);
    });

    it('refuses a file named like a snapshot, and a missing one', async () => {
      writeFileSync(path.join(root, NAME), 'x');
      await expect(store.folder(NAME)).rejects.toThrow(SnapshotNotFoundError);
      await expect(store.folder('20240101T000000Z-missing')).rejects.toThrow(SnapshotNotFoundError);
    });

    it.each(['..', '.', '../outside', 'a/b', `${NAME}/..`, '', 'lost+found', '20240101T000000+0100-abc'])(
      'refuses %j before it becomes a path',
      async (name) => {
        mkdirSync(path.join(root, 'lost+found'), { recursive: true });
        mkdirSync(path.join(root, '20240101T000000+0100-abc'), { recursive: true });
        await expect(store.folder(name)).rejects.toThrow(/is not a snapshot name/);
      },
    );
  });

  describe('folders()', () => {
    beforeEach(() => {
      mkdirSync(path.join(root, '20240102T000000Z-bbbb'));
      mkdirSync(path.join(root, '20240101T000000Z-aaaa'));
      mkdirSync(path.join(root, '20240101T000000+0100-cccc'));
      mkdirSync(path.join(root, 'lost+found'));
      writeFileSync(path.join(root, '20240103T000000Z-file'), 'x');
      symlinkSync(outside, path.join(root, '20240104T000000Z-link'));
    });

    it('lists the plain snapshot folders by name, nothing else', async () => {
      expect((await store.folders()).map((f) => f.name)).toEqual(['20240101T000000Z-aaaa', '20240102T000000Z-bbbb']);
    });

    it('adds folders named with a numeric zone when asked (for pruning)', async () => {
      expect((await store.folders({ zonedNames: true })).map((f) => f.name)).toEqual([
        '20240101T000000+0100-cccc',
        '20240101T000000Z-aaaa',
        '20240102T000000Z-bbbb',
      ]);
    });

    it('has none when Prometheus has not made the folder yet', async () => {
      rmSync(root, { recursive: true });
      expect(await store.folders()).toEqual([]);
    });

    it('fails with SnapshotDirError when snapshot_dir cannot be read', async () => {
      rmSync(root, { recursive: true });
      writeFileSync(root, 'a file');
      await expect(store.folders()).rejects.toThrow(SnapshotDirError);
      const missingParent = new SnapshotStore(config(path.join(tmp, 'no', 'such', 'dir')));
      await expect(missingParent.folders()).rejects.toThrow(SnapshotDirError);
    });
  });

  describe('size()', () => {
    it('adds up the regular files, also those whose names are not UTF-8, and leaves out links and pipes', async () => {
      const dir = path.join(root, NAME);
      mkdirSync(path.join(dir, 'b', 'chunks'), { recursive: true });
      writeFileSync(path.join(dir, 'b', 'chunks', '000001'), '12345');
      writeFileSync(path.join(dir, 'b', 'index'), '12');
      writeFileSync(Buffer.from(`${dir}/b/not-utf8-\xff`, 'latin1'), '123');
      symlinkSync(outside, path.join(dir, 'b', 'link'));
      execFileSync('mkfifo', [path.join(dir, 'pipe')]);
      expect(await store.size(await store.folder(NAME))).toBe(10);
    });
  });

  describe('remove()', () => {
    it('removes the folder and the links in it, not what they point to', async () => {
      const dir = path.join(root, NAME);
      mkdirSync(dir);
      symlinkSync(outside, path.join(dir, 'link'));
      await store.remove(await store.folder(NAME));
      await expect(store.folder(NAME)).rejects.toThrow(SnapshotNotFoundError);
      expect(readFileSync(path.join(outside, 'secret'), 'utf8')).toBe('outside the snapshot dir');
    });
  });
});
