// Pruning raced by someone who may write inside a snapshot folder (a compromised Prometheus
// container, another tenant of a shared volume, a buggy sidecar). The server runs as "nobody".
//
// fs.rm (Node's port of rimraf) lstat()s each folder by path, then readdir()s it and unlinks its
// children by path again: a folder inside the snapshot swapped for a link to a folder outside
// between those calls made a prune delete the outside folder's files. With -snapshot_dir =
// <data>/snapshots and the server running as Prometheus' user, "outside" is the live TSDB.
// The server now removes every folder through a descriptor opened with O_NOFOLLOW
// (snapshots/folder-removal.ts).
//
// The promise (SPEC, "Integrity and safety promises"): "No request can make the server read,
// list or delete anything outside the snapshot directory, or follow a link out of it."
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from './support/downloads';
import { NOBODY, type ServerProcess, startServer } from './support/processes';

const FILES = 200;
const SWAPPED_FOLDERS = 4;
const MAX_ROUNDS = 10;
const fileNames = Array.from({ length: FILES }, (_, i) => `f${String(i).padStart(4, '0')}`);

/**
 * Exchanges two paths atomically (renameat2 RENAME_EXCHANGE) again and again for `seconds`:
 * a folder inside the snapshot and a link to the outside trade places many thousand times a
 * second. Python's ctypes reaches the call, which Node has no binding for.
 */
const SWAPPER = `
import ctypes, os, sys, time
libc = ctypes.CDLL(None, use_errno=True)
a, b, end = os.fsencode(sys.argv[1]), os.fsencode(sys.argv[2]), time.monotonic() + float(sys.argv[3])
ready = False
while time.monotonic() < end:
    if libc.renameat2(-100, a, -100, b, 2) == 0 and not ready:
        ready = True
        print('swapping', flush=True)
`;

describe('a prune raced by a folder swapped for a link to the outside', () => {
  let base: string;
  let snapshotDir: string;
  let victim: string;
  let server: ServerProcess;
  const swappers = new Set<ChildProcess>();

  beforeAll(async () => {
    expect(process.getuid?.(), 'this test drops to "nobody" and must run as root').toBe(0);
    // The swapper needs python3 with ctypes and a glibc with renameat2 (2.28+).
    execFileSync('python3', ['-c', 'import ctypes; ctypes.CDLL(None).renameat2']);
    base = await tempDir('pb-prune-race-');
    snapshotDir = path.join(base, 'snapshots');
    // Stands for the live TSDB beside snapshot_dir: files the server's user may delete, but must not.
    victim = path.join(base, 'live-tsdb');
    await fs.mkdir(snapshotDir);
    await fs.mkdir(victim);
    for (const file of fileNames) await fs.writeFile(path.join(victim, file), 'live data');
    await fs.chown(snapshotDir, NOBODY.uid, NOBODY.gid);
    execFileSync('chown', ['-R', `${NOBODY.uid}:${NOBODY.gid}`, victim]);
    server = await startServer(['-snapshot_dir', snapshotDir, '-prometheus_endpoint', 'http://127.0.0.1:9'], {}, NOBODY);
  });

  afterAll(async () => {
    for (const swapper of swappers) swapper.kill('SIGKILL');
    await server?.stop();
    if (base) await fs.rm(base, { recursive: true, force: true });
  });

  it('never deletes a file outside snapshot_dir', async () => {
    let left = FILES;
    let rounds = 0;
    // Each round is a fresh old snapshot, pruned while its folders flip; a few rounds suffice
    // on an idle machine (in trials the first round already deleted outside files).
    for (let round = 0; round < MAX_ROUNDS && left === FILES; round++) {
      const name = `20200101T0000${String(round).padStart(2, '0')}Z-prunerace${round}`;
      const folder = path.join(snapshotDir, name);
      const parking = path.join(base, `parking-${round}`);
      await fs.mkdir(parking);
      const running: Promise<unknown>[] = [];
      const started: Promise<unknown>[] = [];
      for (let k = 0; k < SWAPPED_FOLDERS; k++) {
        const inner = path.join(folder, `block${k}`);
        await fs.mkdir(inner, { recursive: true });
        for (const file of fileNames) await fs.writeFile(path.join(inner, file), 'snapshot data');
        await fs.symlink(victim, path.join(parking, `link${k}`));
      }
      execFileSync('chown', ['-R', `${NOBODY.uid}:${NOBODY.gid}`, folder]);
      for (let k = 0; k < SWAPPED_FOLDERS; k++) {
        const swapper = spawn('python3', ['-c', SWAPPER, path.join(folder, `block${k}`), path.join(parking, `link${k}`), '10'], { stdio: ['ignore', 'pipe', 'ignore'] });
        swappers.add(swapper);
        running.push(new Promise((resolve) => swapper.once('exit', () => resolve(swappers.delete(swapper)))));
        // Python may take a while to start (pyenv shims): prune only once every swapper swaps.
        started.push(new Promise((resolve) => swapper.stdout!.once('data', resolve).once('end', resolve)));
      }
      await Promise.all(started);
      const res = await fetch(`${server.url}/api/prune?keep_within=1h`, { method: 'POST' });
      expect([200, 503]).toContain(res.status);
      for (const swapper of swappers) swapper.kill('SIGKILL');
      await Promise.all(running);
      left = (await fs.readdir(victim)).length;
      rounds = round + 1;
    }
    // Every file of the folder outside must still be there.
    expect(left, `${FILES - left} of ${FILES} files outside snapshot_dir deleted by prune round ${rounds}`).toBe(FILES);
  }, 120_000);
});
