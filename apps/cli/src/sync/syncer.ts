import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { BlockDto, PrombackupClient } from '@prombackup/client';
import type { ArchiveFormat } from '@prombackup/contract';
import { runBlockPool } from './block-pool';
import { Progress } from '../progress';
import { fetchBlock, syncFolder } from './block-fetch';
import { TEMP_PREFIX, readLocalState } from './local-blocks';
import { type PlannedBlock, REWRITTEN_FILES, type SyncPlan, planSync } from './sync-plan';

export interface Tally {
  blocks: number;
  bytes: number;
}

export interface SyncTallies {
  /** Blocks downloaded (bytes as the snapshot lists them), and the bytes that came over the wire. */
  transferred: Tally & { archive_bytes: number };
  kept: Tally;
  /** Folders removed from DIR because the snapshot no longer has them. */
  removed: Tally;
  /** Folders the snapshot no longer has that --keep-removed left in DIR. */
  left: Tally;
  /** The snapshot's blocks, all of which DIR now has. */
  total: Tally;
  /** Of the transferred blocks: those whose tombstones file alone was replaced, and those replaced whole. */
  tombstones_replaced: number;
  replaced: number;
  /** s3:// only: bytes of the files sent to the bucket (a block whose tombstones changed sends only those files). */
  uploaded_bytes?: number;
}

export class SyncStopped extends Error {}

const exists = (file: string) => fs.lstat(file).then(() => true, () => false);

/**
 * `err` said plainly when it is another program changing DIR under the sync (a name that
 * vanished, or one that appeared where a block was to go), with what DIR holds `after`; otherwise `err` itself.
 */
function changedUnder(err: unknown, dir: string, after: string, target?: string): Error {
  const e = err as NodeJS.ErrnoException & { dest?: string };
  if (e.code === 'ENOENT') return new Error(`${target ?? e.path} vanished while sync ran (another program is changing ${dir}); ${after}`);
  if (e.code === 'ENOTEMPTY' || e.code === 'EEXIST' || e.code === 'ENOTDIR') return new Error(`${target ?? e.dest ?? e.path} appeared while sync ran (another program is changing ${dir}); ${after}`);
  return err as Error;
}

/** What a Prometheus writes into its data folder and a snapshot never holds. */
const PROMETHEUS_ONLY = ['wal', 'chunks_head'];

/** How long an interrupted sync waits for its downloads to notice before it removes their folder. */
const STOP_WAIT_MS = 3_000;

const tally = (items: readonly { bytes: number }[]): Tally => ({ blocks: items.length, bytes: items.reduce((s, i) => s + i.bytes, 0) });

/**
 * Brings DIR's block folders in line with a snapshot, so that at every moment DIR holds only
 * complete blocks under ULID names. Work happens in one hidden folder inside DIR (same file
 * system, so a rename puts a block in place at once); whatever leaves a ULID name goes there
 * first, so nothing is ever deleted in place. Run it only while holding DIR's lock.
 */
export class Syncer {
  readonly work: string;
  private readonly cancel = new AbortController();
  private stopping = false;
  /** The renames, one after another; stop() waits for the one under way. */
  private commits: Promise<void> = Promise.resolve();
  /** Archive bytes received so far, for progress. */
  private received = 0;
  /** The downloads under way, which stop() lets end before it removes their folder. */
  private running?: Promise<unknown>;

  constructor(
    private readonly client: PrombackupClient,
    private readonly dir: string,
    private readonly options: { format: ArchiveFormat; parallel: number; keepRemoved: boolean },
  ) {
    this.work = path.join(dir, `${TEMP_PREFIX}${process.pid}-${randomBytes(4).toString('hex')}`);
  }

  /** Removes the temporary folders of syncs that ended without cleaning up (the lock says none runs); returns their names. */
  async removeStaleTemps(): Promise<string[]> {
    const { staleTemps } = await readLocalState(this.dir);
    for (const name of staleTemps) await fs.rm(path.join(this.dir, name), { recursive: true, force: true });
    return staleTemps;
  }

  /** What DIR needs to become a copy of the snapshot's blocks. */
  async plan(blocks: readonly BlockDto[], unlisted: readonly string[] = []): Promise<SyncPlan> {
    // A snapshot has no wal/ or chunks_head/: with them DIR is a data folder a Prometheus ran on, whose own blocks sync would remove.
    for (const name of PROMETHEUS_ONLY) {
      if (await fs.lstat(path.join(this.dir, name)).then(() => true, () => false)) {
        throw new Error(`${this.dir} holds ${name}/: a Prometheus has run on it, and sync would remove the blocks it wrote; sync into a folder of its own`);
      }
    }
    const local = await readLocalState(this.dir).catch((err: NodeJS.ErrnoException) => {
      throw err.code === 'ENOENT' ? new Error(`${err.path} vanished while sync read ${this.dir} (another program is changing it); nothing in ${this.dir} was changed by this sync`) : err;
    });
    // Refused before any download: the block could never be renamed onto it, and it is not sync's to remove.
    const taken = blocks.find((b) => local.notFolders.includes(b.ulid));
    if (taken) throw new Error(`${path.join(this.dir, taken.ulid)} is not a block folder (a file or a link), but the snapshot has that block; sync never replaces it: move it away`);
    return planSync(blocks, local.blocks, unlisted);
  }

  /** Downloads and puts in place every block of the plan, then removes what the snapshot no longer has. */
  async apply(snapshot: string, blocks: readonly BlockDto[], plan: SyncPlan): Promise<SyncTallies> {
    await fs.mkdir(this.work);
    const byUlid = new Map(blocks.map((b) => [b.ulid, b]));
    const total = plan.fetch.reduce((s, b) => s + b.bytes, 0);
    const count = plan.fetch.length;
    const progress = count > 0 ? new Progress(`${count} block${count === 1 ? '' : 's'}`, () => this.received, process.stderr, { bytes: total, estimate: this.options.format !== 'tar' }) : undefined;
    let archiveBytes = 0;
    let failure: Error | undefined;
    try {
      const running = runBlockPool(plan.fetch, this.options.parallel, () => this.stopping, async (planned) => {
        // Awaited first, then added: `x += await …` would read x before the wait and lose a parallel worker's bytes.
        const bytes = await this.fetchAndPlace(snapshot, byUlid.get(planned.ulid)!, planned);
        archiveBytes += bytes;
      });
      this.running = running;
      failure = await running;
    } finally {
      progress?.done();
    }
    if (failure) throw failure;
    if (this.stopping) throw new SyncStopped('stopped');
    const removing = `${this.dir} holds every block of the snapshot; of those it no longer has, the ones not yet removed stay; run sync again`;
    if (!this.options.keepRemoved) {
      for (const { ulid } of plan.remove) {
        await this.commit(() => this.moveAside(ulid, 'removed')).catch((err) => {
          throw new Error(`block ${ulid}: ${changedUnder(err, this.dir, removing, path.join(this.dir, ulid)).message}`);
        });
      }
    }
    return {
      transferred: { ...tally(plan.fetch), archive_bytes: archiveBytes },
      kept: tally(plan.keep),
      removed: this.options.keepRemoved ? { blocks: 0, bytes: 0 } : tally(plan.remove),
      left: this.options.keepRemoved ? tally(plan.remove) : { blocks: 0, bytes: 0 },
      total: tally(blocks),
      tombstones_replaced: plan.fetch.filter((b) => b.action === 'tombstones').length,
      replaced: plan.fetch.filter((b) => b.action === 'replace').length,
    };
  }

  /** One block: downloaded into the work folder, verified, then renamed into DIR. Returns the archive's bytes. */
  private async fetchAndPlace(snapshot: string, block: BlockDto, planned: PlannedBlock): Promise<number> {
    const placing = `${this.dir} holds its blocks as before, with the complete new ones already in place; run sync again`;
    const staged = path.join(this.work, block.ulid);
    let fetched;
    try {
      fetched = await fetchBlock(this.client, block, {
        snapshot,
        format: this.options.format,
        into: this.work,
        onlyTombstones: planned.action === 'tombstones',
        signal: this.cancel.signal,
        onBytes: (n) => (this.received += n),
      });
    } catch (err) {
      await fs.rm(staged, { recursive: true, force: true });
      // A vanished file here is in sync's own work folder, which something removed.
      const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? changedUnder(err, this.dir, placing, this.work).message : (err as Error).message;
      throw new Error(`block ${block.ulid}: ${why}`);
    }
    const target = path.join(this.dir, block.ulid);
    await this.commit(async () => {
      if (planned.action === 'tombstones') {
        // Each file renamed over the old one, as Prometheus itself rewrites them: a reader sees
        // the old or the new file, never a mix; tombstones first, meta.json (whose stats count them) after.
        if (!(await exists(target))) throw Object.assign(new Error('gone'), { code: 'ENOENT' });
        for (const file of REWRITTEN_FILES) {
          // A block without a tombstones file in the snapshot has none to put in place.
          if (await exists(path.join(staged, file))) await fs.rename(path.join(staged, file), path.join(target, file));
        }
        await syncFolder(target);
        await fs.rm(staged, { recursive: true, force: true });
        return;
      }
      // A block changed in another way: the old folder steps aside into the work folder and the
      // new one takes its name. Between the two renames the name is briefly absent, never half there.
      if (planned.action === 'replace') await this.moveAside(block.ulid, 'replaced');
      await fs.rename(staged, target);
      await syncFolder(this.dir);
    }).catch((err) => {
      throw err instanceof SyncStopped ? err : new Error(`block ${block.ulid}: ${changedUnder(err, this.dir, placing, target).message}`);
    });
    return fetched.archiveBytes;
  }

  /** Moves DIR/ULID into the work folder (deleted with it), so a block never loses files under its name. */
  private async moveAside(ulid: string, why: string): Promise<void> {
    await fs.rename(path.join(this.dir, ulid), path.join(this.work, `${why}-${ulid}`));
    await syncFolder(this.dir);
  }

  /** Runs one change to DIR after those before it, unless the sync is stopping. */
  private commit(change: () => Promise<void>): Promise<void> {
    const run = this.commits.then(() => {
      if (this.stopping) throw new SyncStopped('stopped');
      return change();
    });
    this.commits = run.catch(() => undefined);
    return run;
  }

  /** For an interruption: no new change starts, downloads are cut, the change under way ends, the work folder goes. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.cancel.abort();
    await this.commits;
    // A cut download ends at once; one waiting for its status may take longer, and its folder then stays for the next sync to remove.
    await Promise.race([this.running, new Promise((resolve) => setTimeout(resolve, STOP_WAIT_MS).unref())]);
    await this.removeWork();
  }

  async removeWork(): Promise<void> {
    await fs.rm(this.work, { recursive: true, force: true });
  }
}
