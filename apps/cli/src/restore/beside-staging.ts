import { randomBytes } from 'node:crypto';
import { readdirSync, rmSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { isProcessRunning, syncPath, writeNewFile } from './block-staging';

/** `.prombackup-restore-PID-RANDOM-NAME` beside TSDB_DIR (NAME its base name): never a ULID, so never a block of anything. */
const PREFIX = '.prombackup-restore-';
const PATTERN = /^\.prombackup-restore-(\d+)-[0-9a-f]{8}-(.+)$/;

interface Held {
  dir: string;
  /** Files written and not yet synced to disk. */
  unsynced: string[];
  /** The sync under way (background, started when the archive moved on to another block). */
  syncing: Promise<void>;
  /** false once its meta.json says it is not wanted (outside --from/--until): no sync, never placed. */
  wanted: boolean;
}

/**
 * One-pass restore: blocks are extracted into one hidden folder beside TSDB_DIR (the same
 * parent, so the same file system) while the archive is checked, and renamed into TSDB_DIR only
 * by place(), once everything checked out. Until then nothing is written into TSDB_DIR, and a
 * failure or an interruption removes the whole folder. Each block is synced to disk in the
 * background as soon as the archive moves on to the next, so the disk works while we decompress.
 */
export class BesideStaging {
  private readonly blocks = new Map<string, Held>();
  /** Blocks renamed into TSDB_DIR, in order. */
  readonly placed: string[] = [];
  /** Set by discard(): a write still under way starts no new block. */
  private closed = false;

  private constructor(
    private readonly to: string,
    readonly dir: string,
  ) {}

  /**
   * The staging folder beside `to`, or why there can be none: the parent is missing or not
   * writable, or `to` is on another file system (a mount point), where a rename cannot move a block.
   */
  static async open(to: string): Promise<BesideStaging | { reason: string }> {
    const parent = path.dirname(to);
    if (parent === to) return { reason: `${to} has no parent folder` };
    const dir = path.join(parent, `${PREFIX}${process.pid}-${randomBytes(4).toString('hex')}-${path.basename(to)}`);
    try {
      await fs.mkdir(dir, { mode: 0o700 });
    } catch (err) {
      return { reason: `cannot write beside it in ${parent} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})` };
    }
    const target = await fs.stat(to).catch(() => undefined);
    if (target && target.dev !== (await fs.stat(dir)).dev) {
      await fs.rm(dir, { recursive: true, force: true });
      return { reason: `it is a mount point (another file system than ${parent})` };
    }
    return new BesideStaging(to, dir);
  }

  /** Whether block `ulid` is being written here (false once known to be unwanted). */
  has(ulid: string): boolean {
    return this.blocks.get(ulid)?.wanted ?? false;
  }

  /** Writes one file of block `ulid` with the archive's modification time. */
  async write(ulid: string, file: string, body: Readable, mtimeMs: number): Promise<void> {
    let block = this.blocks.get(ulid);
    if (this.closed) throw new Error('the restore was stopped');
    if (!block) {
      block = { dir: path.join(this.dir, ulid), unsynced: [], syncing: Promise.resolve(), wanted: true };
      this.blocks.set(ulid, block);
      // Not recursive: a staging folder removed meanwhile (an interruption) is never made again.
      await fs.mkdir(block.dir, { mode: 0o755 });
      await fs.mkdir(path.join(block.dir, 'chunks'), { mode: 0o755 });
    }
    if (!block.wanted) return;
    const target = path.join(block.dir, file);
    await writeNewFile(target, body);
    const when = new Date(mtimeMs);
    await fs.utimes(target, when, when);
    block.unsynced.push(target);
  }

  /** Block `ulid` is not wanted after all: not synced, never placed, removed with the folder. */
  drop(ulid: string): void {
    const block = this.blocks.get(ulid);
    if (block) block.wanted = false;
    else this.blocks.set(ulid, { dir: path.join(this.dir, ulid), unsynced: [], syncing: Promise.resolve(), wanted: false });
  }

  /** The archive moved past block `ulid`: its files go to disk in the background. */
  written(ulid: string): void {
    const block = this.blocks.get(ulid);
    if (!block?.wanted) return;
    block.syncing = block.syncing.then(() => this.sync(block));
    block.syncing.catch(() => undefined); // place() reports it
  }

  private async sync(block: Held): Promise<void> {
    const files = block.unsynced.splice(0);
    await Promise.all(files.map((f) => syncPath(f)));
    await syncPath(path.join(block.dir, 'chunks'));
    await syncPath(block.dir);
  }

  /**
   * Renames the blocks `ulids` into TSDB_DIR (which it creates when missing), each once all its
   * files are on disk; a name that appeared in TSDB_DIR meanwhile is never replaced.
   */
  async place(ulids: string[]): Promise<void> {
    const chosen = ulids.map((ulid) => [ulid, this.blocks.get(ulid)] as const);
    for (const [ulid, block] of chosen) if (!block?.wanted) throw new Error(`block ${ulid} was not extracted`);
    await Promise.all(chosen.map(([, block]) => (block!.syncing = block!.syncing.then(() => this.sync(block!)))));
    await fs.mkdir(this.to, { recursive: true });
    for (const [ulid, block] of chosen) {
      const target = path.join(this.to, ulid);
      // rename() would silently replace an empty folder: a block that appeared meanwhile is never replaced.
      if (await fs.lstat(target).then(() => true, () => false)) throw new Error(`${target} appeared while restoring; it was left as it is`);
      await fs.rename(block!.dir, target);
      this.placed.push(ulid);
    }
    await syncPath(this.to);
  }

  /** Removes the staging folder and whatever is still in it; safe to call twice. */
  async discard(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.blocks.values()].map((b) => b.syncing));
    await fs.rm(this.dir, { recursive: true, force: true });
  }

  /** discard() for a process about to exit. */
  discardNow(): void {
    this.closed = true;
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Removes this process's staging folders for `to`, also one made while a stop was under way. */
  static removeOwnNow(to: string): void {
    const parent = path.dirname(to);
    let names: string[] = [];
    try {
      names = readdirSync(parent);
    } catch {
      return;
    }
    for (const name of names) {
      const m = PATTERN.exec(name);
      if (m && Number(m[1]) === process.pid && m[2] === path.basename(to)) rmSync(path.join(parent, name), { recursive: true, force: true });
    }
  }

  /** Staging folders for `to` left by restores whose process no longer runs (a kill -9); returns their names. */
  static async removeStale(to: string): Promise<string[]> {
    const parent = path.dirname(to);
    const removed: string[] = [];
    for (const name of await fs.readdir(parent).catch(() => [] as string[])) {
      const m = PATTERN.exec(name);
      if (!m || m[2] !== path.basename(to) || Number(m[1]) === process.pid || isProcessRunning(Number(m[1]))) continue;
      await fs.rm(path.join(parent, name), { recursive: true, force: true });
      removed.push(name);
    }
    return removed;
  }
}
