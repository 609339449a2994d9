import { randomBytes } from 'node:crypto';
import { constants, unlinkSync } from 'node:fs';
import fs, { type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { partialName } from './partial-name';

/** The file system calls AtomicFile makes, replaceable so that tests can make them fail. */
export interface FileOps {
  open: typeof fs.open;
  link: typeof fs.link;
  rename: typeof fs.rename;
  unlink: typeof fs.unlink;
  lstat: typeof fs.lstat;
}

const NODE_OPS: FileOps = { open: fs.open, link: fs.link, rename: fs.rename, unlink: fs.unlink, lstat: fs.lstat };

/** A verified backup that could not be put at its target; `keptAt` says where it is instead. */
export class KeptBackupError extends Error {
  constructor(
    message: string,
    readonly keptAt: string,
  ) {
    super(message);
  }
}

/**
 * A file written beside its target under a hidden temporary name (see partial-name.ts), and put
 * in place only by commit(): a failure leaves nothing at the target path. Once commit() has
 * begun, the file is a verified backup and nothing here deletes it.
 */
export class AtomicFile {
  readonly tempPath: string;
  private holder?: FileHandle;
  private verified = false;

  constructor(
    readonly target: string,
    private readonly ops: FileOps = NODE_OPS,
  ) {
    this.tempPath = path.join(path.dirname(target), partialName(path.basename(target)));
  }

  /**
   * Creates the empty temporary file and keeps it open until the end: an open descriptor is
   * how other CLIs on this host tell a partial in use from an abandoned one (stale-partials.ts).
   */
  async create(): Promise<void> {
    this.holder = await this.ops.open(this.tempPath, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644);
  }

  /**
   * Flushes the file to disk and moves it to its target; refuses to replace a file unless
   * `overwrite`. When it cannot be put there, it is kept under another name and the
   * KeptBackupError says which.
   */
  async commit(overwrite: boolean): Promise<void> {
    // Verified from here on: a signal arriving while a large file is flushed must not delete it.
    this.verified = true;
    // The data must be on disk before the name says the backup is complete.
    const handle = this.holder ?? (await this.ops.open(this.tempPath, 'r'));
    try {
      await handle.sync();
      if (overwrite) await this.ops.rename(this.tempPath, this.target);
      else await this.place();
    } catch (err) {
      throw await this.keep(err as Error);
    } finally {
      this.holder = undefined;
      await handle.close().catch(() => undefined);
    }
  }

  /** Removes the temporary file unless commit() has begun; safe to call at any point. */
  async discard(): Promise<void> {
    if (this.verified) return;
    await this.holder?.close().catch(() => undefined);
    this.holder = undefined;
    await this.ops.unlink(this.tempPath).catch(() => undefined);
  }

  /** discard() for when there is no time to wait: the process is about to exit. */
  discardNow(): void {
    if (this.verified) return;
    try {
      unlinkSync(this.tempPath);
    } catch {
      // already gone, or never made
    }
  }

  /** Puts the file at the target without replacing anything there. */
  private async place(): Promise<void> {
    try {
      // link() fails if the target exists, where rename() would silently replace it.
      await this.ops.link(this.tempPath, this.target);
    } catch (err) {
      if (errorCode(err) === 'EEXIST') throw this.appeared();
      // vfat, exFAT and some network mounts have no hard links (EPERM, ENOTSUP, ...).
      await this.placeOverReservation(err as Error);
      return;
    }
    // The backup is in place; a leftover second name would only cost a directory entry.
    await this.ops.unlink(this.tempPath).catch(() => undefined);
  }

  /**
   * Without link(): claims the target by creating it exclusively, then renames the file over
   * that claim if it is still our empty file. Node has no rename that refuses to replace
   * (renameat2 RENAME_NOREPLACE), so a file swapped in between the check and the rename, a
   * window of microseconds, would still be replaced.
   */
  private async placeOverReservation(linkError: Error): Promise<void> {
    let reservation: FileHandle;
    try {
      reservation = await this.ops.open(this.target, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644);
    } catch (err) {
      if (errorCode(err) === 'EEXIST') throw this.appeared();
      throw new Error(`cannot put the backup at ${this.target}: no hard link (${linkError.message}) and no new file (${(err as Error).message})`);
    }
    const claimed = await reservation.stat().finally(() => reservation.close());
    const isClaim = async () => {
      const now = await this.ops.lstat(this.target).catch(() => undefined);
      return now !== undefined && now.isFile() && now.ino === claimed.ino && now.dev === claimed.dev && now.size === 0;
    };
    if (!(await isClaim())) throw this.appeared();
    try {
      await this.ops.rename(this.tempPath, this.target);
    } catch (err) {
      // Take back the empty claim, so that no empty file stands at the target.
      if (await isClaim()) await this.ops.unlink(this.target).catch(() => undefined);
      throw new Error(`cannot rename the backup to ${this.target}: ${(err as Error).message}`);
    }
  }

  private appeared(): Error {
    return new Error(`${this.target} appeared while downloading; not overwriting it (use --force)`);
  }

  /** Gives the verified file a name without ".partial", which no stale cleanup removes; returns what to throw. */
  private async keep(cause: Error): Promise<KeptBackupError> {
    const kept = `${this.target}.${randomBytes(4).toString('hex')}.verified`;
    try {
      await this.ops.rename(this.tempPath, kept);
    } catch {
      return new KeptBackupError(`${cause.message}; the verified backup is still at ${this.tempPath}`, this.tempPath);
    }
    return new KeptBackupError(`${cause.message}; the verified backup is kept at ${kept}`, kept);
  }
}

function errorCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

export async function exists(p: string): Promise<boolean> {
  try {
    await fs.lstat(p);
    return true;
  } catch {
    return false;
  }
}
