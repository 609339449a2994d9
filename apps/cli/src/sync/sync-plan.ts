import type { BlockDto } from '@prombackup/client';
import { type LocalBlock, isUlid } from '../tsdb';

/**
 * What a block of the snapshot needs: `new` (DIR lacks it), `tombstones` (DIR has it with the
 * same index and chunks, but other tombstones or meta.json: the two files Prometheus rewrites in
 * a block, when series are deleted, each by writing a new file and renaming it over the old),
 * or `replace` (DIR has a folder of that name that differs otherwise: should not happen).
 */
export type BlockAction = 'new' | 'tombstones' | 'replace';

export interface PlannedBlock {
  ulid: string;
  action: BlockAction;
  /** The block's bytes as the snapshot lists them. */
  bytes: number;
  /** Why it is not kept, in words (for replace and tombstones). */
  reason?: string;
}

export interface SyncPlan {
  /** Blocks to download, in ULID order. */
  fetch: PlannedBlock[];
  /** Blocks DIR already has with the same files, sizes and modification times. */
  keep: { ulid: string; bytes: number }[];
  /** ULID folders in DIR that the snapshot no longer has (removed at the end unless --keep-removed). */
  remove: { ulid: string; bytes: number }[];
  /** Blocks the snapshot has but the server could not list (their meta.json is unreadable there): not synced, an earlier copy never removed. */
  unreadable: { ulid: string; earlier_copy_kept: boolean }[];
}

/** The files of a block that Prometheus rewrites (series deletion), in the order sync replaces them. */
export const REWRITTEN_FILES = ['tombstones', 'meta.json'] as const;
const rewritten = (file: string) => (REWRITTEN_FILES as readonly string[]).includes(file);

/**
 * Compares the snapshot's blocks with DIR's ULID folders; a pure function of both listings.
 * Throws when the listing names a block by anything but a ULID, or twice: its names become paths in DIR.
 */
export function planSync(remote: readonly BlockDto[], local: ReadonlyMap<string, LocalBlock>, unlisted: readonly string[] = []): SyncPlan {
  const listed = new Set<string>();
  for (const { ulid } of remote) {
    if (!isUlid(ulid)) throw new Error(`the snapshot's listing names ${JSON.stringify(ulid)}, which is not a block ULID (a server fault or a hostile one); nothing was synced`);
    if (listed.has(ulid)) throw new Error(`the snapshot's listing names block ${ulid} twice; nothing was synced`);
    listed.add(ulid);
  }
  const plan: SyncPlan = { fetch: [], keep: [], remove: [], unreadable: unlisted.map((ulid) => ({ ulid, earlier_copy_kept: local.has(ulid) })) };
  const sorted = [...remote].sort((a, b) => (a.ulid < b.ulid ? -1 : a.ulid > b.ulid ? 1 : 0));
  for (const block of sorted) {
    const mine = local.get(block.ulid);
    if (!mine) {
      plan.fetch.push({ ulid: block.ulid, action: 'new', bytes: block.bytes });
      continue;
    }
    const difference = differences(block, mine);
    if (difference.length === 0) plan.keep.push({ ulid: block.ulid, bytes: block.bytes });
    else {
      const onlyTombstones = difference.every((d) => rewritten(d.path) && d.what !== 'extra') && mine.odd.length === 0;
      plan.fetch.push({ ulid: block.ulid, action: onlyTombstones ? 'tombstones' : 'replace', bytes: block.bytes, reason: describe(difference, mine.odd) });
    }
  }
  const wanted = new Set([...remote.map((b) => b.ulid), ...unlisted]);
  for (const mine of [...local.values()].sort((a, b) => (a.ulid < b.ulid ? -1 : 1))) {
    if (!wanted.has(mine.ulid)) plan.remove.push({ ulid: mine.ulid, bytes: mine.bytes });
  }
  return plan;
}

interface Difference {
  path: string;
  what: 'missing' | 'extra' | 'size' | 'mtime' | 'unreadable';
}

/** Every file that is not the same in both: missing in DIR, extra in DIR, or of another size or modification time. */
function differences(block: BlockDto, mine: LocalBlock): Difference[] {
  const out: Difference[] = [];
  const here = new Map(mine.files.map((f) => [f.path, f]));
  for (const file of block.files) {
    const local = here.get(file.path);
    if (!local) out.push({ path: file.path, what: 'missing' });
    else if (local.size !== file.size) out.push({ path: file.path, what: 'size' });
    else if (local.mtimeMs !== file.mtime_ms) out.push({ path: file.path, what: 'mtime' });
    here.delete(file.path);
  }
  // Same size and time, yet it does not parse: damaged in DIR since it was written.
  if (mine.metaUnreadable && !out.some((d) => d.path === 'meta.json')) out.push({ path: 'meta.json', what: 'unreadable' });
  for (const extra of here.keys()) out.push({ path: extra, what: 'extra' });
  for (const odd of mine.odd) out.push({ path: odd, what: 'extra' });
  return out;
}

function describe(difference: Difference[], odd: string[]): string {
  const words = { missing: 'missing in DIR', extra: 'not in the snapshot', size: 'another size', mtime: 'another modification time', unreadable: 'does not parse in DIR' };
  const listed = difference.slice(0, 3).map((d) => `${d.path} (${odd.includes(d.path) ? 'not a regular file' : words[d.what]})`);
  return listed.join(', ') + (difference.length > 3 ? ` and ${difference.length - 3} more` : '');
}
