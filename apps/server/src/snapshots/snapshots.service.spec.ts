import { Logger } from '@nestjs/common';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LifecycleService } from '../lifecycle/lifecycle.service';
import { MetricsService } from '../metrics/metrics.service';
import type { PrometheusAdminClient } from '../prometheus/prometheus-admin.client';
import type { PrometheusStatus } from '../prometheus/prometheus-status';
import { SnapshotLocks } from './snapshot-locks';
import { SnapshotDirError, type SnapshotFolder, SnapshotNotFoundError, type SnapshotStore } from './snapshot-store';
import { SnapshotsService } from './snapshots.service';

const NAME = '20240601T000000Z-0123456789abcdef';

/** A store that records what it was asked to remove; `failRemove` makes removal fail. */
function fakeStore(failRemove = false) {
  const removed: string[] = [];
  const store = {
    folder: async (name: string) => ({ name, absolutePath: `/snapshots/${name}` }) as SnapshotFolder,
    remove: async (folder: SnapshotFolder) => {
      if (failRemove) throw new SnapshotDirError(`cannot remove snapshot ${folder.name}: permission denied`);
      removed.push(folder.name);
      return true;
    },
  };
  return { store: store as unknown as SnapshotStore, removed };
}

const prometheus = { snapshot: async () => NAME } as unknown as PrometheusAdminClient;
const status = { check: async () => ({ storagePath: '/prometheus' }) } as unknown as PrometheusStatus;

describe('SnapshotsService.create', () => {
  let locks: SnapshotLocks;
  let logs: { log: string[]; warn: string[]; error: string[] };

  beforeEach(() => {
    locks = new SnapshotLocks();
    logs = { log: [], warn: [], error: [] };
    for (const level of ['log', 'warn', 'error'] as const) {
      vi.spyOn(Logger.prototype, level).mockImplementation((message: unknown) => void logs[level].push(String(message)));
    }
  });
  afterEach(() => vi.restoreAllMocks());

  const service = (store: SnapshotStore) => new SnapshotsService(prometheus, store, locks, new MetricsService(), new LifecycleService(), status);
  const gone = () => AbortSignal.abort();

  it('returns the name and keeps the snapshot while the requester is still there', async () => {
    const { store, removed } = fakeStore();
    expect(await service(store).create(false, new AbortController().signal)).toBe(NAME);
    expect(removed).toEqual([]);
  });

  it('removes a snapshot whose requester went away, logs one line, and frees the lock', async () => {
    const { store, removed } = fakeStore();
    await expect(service(store).create(false, gone())).rejects.toMatchObject({ status: 499 });
    expect(removed).toEqual([NAME]);
    expect(logs.log.filter((line) => line.includes(NAME))).toEqual([
      `snapshot ${NAME} taken, but the client that asked for it went away before Prometheus answered; removed it`,
    ]);
    expect(locks.acquireRead(NAME)).toBe(true);
  });

  it('logs a failed removal as an error and frees the lock', async () => {
    const { store } = fakeStore(true);
    await expect(service(store).create(false, gone())).rejects.toMatchObject({ status: 499 });
    expect(logs.error).toEqual([expect.stringMatching(new RegExp(`${NAME} .*went away.*; could not remove it: cannot remove snapshot ${NAME}: permission denied`))]);
    expect(locks.acquireRead(NAME)).toBe(true);
  });

  it('never removes a snapshot a download is streaming', async () => {
    const { store, removed } = fakeStore();
    expect(locks.acquireRead(NAME)).toBe(true);
    await expect(service(store).create(false, gone())).rejects.toMatchObject({ status: 499 });
    expect(removed).toEqual([]);
    expect(logs.warn).toEqual([expect.stringMatching(/kept it: a download is streaming it/)]);
  });

  it('removes a snapshot that arrives after shutdown began and answers 503, and the shutdown waits for it', async () => {
    const lifecycle = new LifecycleService();
    let answer: (name: string) => void = () => undefined;
    const slow = { snapshot: () => new Promise<string>((resolve) => (answer = resolve)) } as unknown as PrometheusAdminClient;
    const { store, removed } = fakeStore();
    const pending = new SnapshotsService(slow, store, locks, new MetricsService(), lifecycle, status).create(false, new AbortController().signal);
    let drained = false;
    void lifecycle.drain(60_000).then(() => (drained = true));
    await new Promise((r) => setTimeout(r, 150));
    expect(drained).toBe(false);
    answer(NAME);
    await expect(pending).rejects.toMatchObject({ status: 503, message: expect.stringMatching(/shutting down.*removed/) });
    expect(removed).toEqual([NAME]);
    expect(logs.log).toContain(`snapshot ${NAME} taken, but the server began shutting down before Prometheus answered; removed it`);
  });

  it('refuses with 503 while the server shuts down, before asking Prometheus', async () => {
    const lifecycle = new LifecycleService();
    void lifecycle.drain(0);
    const ask = vi.fn(async () => NAME);
    const { store } = fakeStore();
    const refused = new SnapshotsService({ snapshot: ask } as unknown as PrometheusAdminClient, store, locks, new MetricsService(), lifecycle, status);
    await expect(refused.create(false)).rejects.toMatchObject({ status: 503, message: expect.stringMatching(/shutting down/) });
    expect(ask).not.toHaveBeenCalled();
  });
});

describe('SnapshotsService.remove', () => {
  let locks: SnapshotLocks;
  beforeEach(() => {
    locks = new SnapshotLocks();
    vi.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    vi.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
  });
  afterEach(() => vi.restoreAllMocks());

  const service = (store: SnapshotStore) => new SnapshotsService(prometheus, store, locks, new MetricsService(), new LifecycleService(), status);

  it('removes the snapshot and frees its lock', async () => {
    const { store, removed } = fakeStore();
    await service(store).remove(NAME);
    expect(removed).toEqual([NAME]);
    expect(locks.acquireRead(NAME)).toBe(true);
  });

  it('answers 409 while a download streams it, and leaves it', async () => {
    const { store, removed } = fakeStore();
    locks.acquireRead(NAME);
    await expect(service(store).remove(NAME)).rejects.toMatchObject({ status: 409, message: expect.stringMatching(/being downloaded/) });
    expect(removed).toEqual([]);
  });

  it('answers 404 when a prune is removing it at the same time', async () => {
    const { store, removed } = fakeStore();
    expect(locks.acquireRemove(NAME)).toBe('acquired');
    await expect(service(store).remove(NAME)).rejects.toMatchObject({ status: 404 });
    expect(removed).toEqual([]);
  });

  it('passes a failed removal on and frees the lock', async () => {
    const { store } = fakeStore(true);
    await expect(service(store).remove(NAME)).rejects.toBeInstanceOf(SnapshotDirError);
    expect(locks.acquireRemove(NAME)).toBe('acquired');
  });
});

describe('SnapshotsService.create with a snapshot_dir that is not Prometheus\' own', () => {
  afterEach(() => vi.restoreAllMocks());

  it('says -snapshot_dir is probably not <storage.tsdb.path>/snapshots when the new snapshot is not there', async () => {
    vi.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    vi.useFakeTimers({ shouldAdvanceTime: true, advanceTimeDelta: 500 });
    try {
      const store = { folder: async () => Promise.reject(new SnapshotNotFoundError('no snapshot')), root: '/elsewhere' } as unknown as SnapshotStore;
      const service = new SnapshotsService(prometheus, store, new SnapshotLocks(), new MetricsService(), new LifecycleService(), status);
      await expect(service.create(false)).rejects.toMatchObject({
        status: 500,
        message: `Prometheus reports snapshot ${NAME}, but it does not appear under -snapshot_dir: -snapshot_dir is probably not /prometheus/snapshots (Prometheus' data folder, by its own path) as this server sees it`,
      });
    } finally {
      vi.useRealTimers();
    }
  });
});
