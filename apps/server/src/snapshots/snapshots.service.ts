import {
  ConflictException,
  HttpException,
  Injectable,
  InternalServerErrorException,
  Logger,
  NotFoundException,
  ServiceUnavailableException,
} from '@nestjs/common';
import { snapshotTime } from '@prombackup/contract';
import { LifecycleService } from '../lifecycle/lifecycle.service';
import { MetricsService } from '../metrics/metrics.service';
import { PrometheusAdminClient, PrometheusError } from '../prometheus/prometheus-admin.client';
import { PrometheusStatus } from '../prometheus/prometheus-status';
import { SnapshotNotFoundError } from './snapshot-errors';
import type { SnapshotInfoDto } from './dto/snapshot.dto';
import { SnapshotLocks } from './snapshot-locks';
import { SnapshotStore } from './snapshot-store';

const SHUTTING_DOWN = 'the server is shutting down; try another replica or again shortly';
/** Prometheus makes the folder before it answers; a network file system may show it a little later. */
const APPEAR_WITHIN_MS = 3_000;

@Injectable()
export class SnapshotsService {
  private readonly logger = new Logger(SnapshotsService.name);

  constructor(
    private readonly prometheus: PrometheusAdminClient,
    private readonly store: SnapshotStore,
    private readonly locks: SnapshotLocks,
    private readonly metrics: MetricsService,
    private readonly lifecycle: LifecycleService,
    private readonly prometheusStatus: PrometheusStatus,
  ) {}

  /**
   * Asks Prometheus for a snapshot and returns its name. `requesterGone` aborts when the client
   * has hung up. A snapshot that arrives after that, or after shutdown began (its download would
   * be refused), is nobody's and is removed again.
   */
  async create(skipHead: boolean, requesterGone?: AbortSignal): Promise<string> {
    if (this.lifecycle.draining) throw new ServiceUnavailableException(SHUTTING_DOWN);
    // A shutdown waits (within its grace) for Prometheus' answer, so that it can clean up after it.
    const untrack = this.lifecycle.track({ abort: () => undefined, statusFollows: false });
    try {
      const name = await this.askPrometheus(skipHead);
      const gone = requesterGone?.aborted === true;
      if (gone || this.lifecycle.draining) {
        this.metrics.snapshotRequests.inc({ outcome: 'abandoned' });
        const why = gone ? 'the client that asked for it went away' : 'the server began shutting down';
        await this.removeAbandoned(name, `snapshot ${name} taken, but ${why} before Prometheus answered`);
        // Nobody reads a 499 (client closed request); it tells the access log what happened.
        if (gone) throw new HttpException(`the client went away before snapshot ${name} was taken`, 499);
        throw new ServiceUnavailableException(`${SHUTTING_DOWN} (the snapshot taken meanwhile was removed)`);
      }
      await this.expectFolder(name);
      this.metrics.snapshotRequests.inc({ outcome: 'success' });
      this.metrics.lastSnapshot.set(Date.now() / 1000);
      this.logger.log(`snapshot ${name} taken${skipHead ? ' without head block' : ''}`);
      return name;
    } finally {
      untrack();
    }
  }

  private async askPrometheus(skipHead: boolean): Promise<string> {
    const stopTimer = this.metrics.snapshotDuration.startTimer();
    try {
      const name = await this.prometheus.snapshot(skipHead);
      stopTimer();
      return name;
    } catch (err) {
      this.metrics.snapshotRequests.inc({ outcome: err instanceof PrometheusError ? err.failure : 'error' });
      throw err;
    }
  }

  /**
   * Fails, saying what is probably misconfigured, when the snapshot Prometheus reports is not in
   * snapshot_dir: then this server looks at another folder than Prometheus writes to.
   */
  private async expectFolder(name: string): Promise<void> {
    const deadline = Date.now() + APPEAR_WITHIN_MS;
    for (;;) {
      try {
        await this.store.folder(name);
        return;
      } catch (err) {
        if (!(err instanceof SnapshotNotFoundError)) throw err;
        if (Date.now() >= deadline) break;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
    const { storagePath } = await this.prometheusStatus.check();
    const expected = storagePath ? `${storagePath.replace(/\/+$/, '')}/snapshots` : '<storage.tsdb.path>/snapshots';
    const message =
      `Prometheus reports snapshot ${name}, but it does not appear under -snapshot_dir: -snapshot_dir is probably not ` +
      `${expected} (Prometheus' data folder, by its own path) as this server sees it`;
    this.metrics.snapshotRequests.inc({ outcome: 'not_in_snapshot_dir' });
    this.logger.error(`${message}; -snapshot_dir is ${this.store.root}`);
    throw new InternalServerErrorException(message);
  }

  /** Removes a snapshot nobody will download (it would stay for weeks otherwise), unless a download holds it. */
  private async removeAbandoned(name: string, why: string): Promise<void> {
    const lock = this.locks.acquireRemove(name);
    if (lock !== 'acquired') {
      this.logger.warn(`${why}; kept it: ${lock === 'in-use' ? 'a download is streaming it' : 'a prune is removing it'}`);
      return;
    }
    try {
      if (await this.store.remove(await this.store.folder(name))) this.metrics.snapshotsRemoved.inc({ reason: 'abandoned' });
      this.logger.log(`${why}; removed it`);
    } catch (err) {
      this.logger.error(`${why}; could not remove it: ${(err as Error).message}`);
    } finally {
      this.locks.releaseRemove(name);
    }
  }

  /**
   * Removes one snapshot on request (DELETE /api/snapshot). Refused while a download streams it:
   * the client that took it for a backup deletes it once its download has ended.
   */
  async remove(name: string): Promise<void> {
    const folder = await this.store.folder(name);
    const lock = this.locks.acquireRemove(name);
    if (lock === 'in-use') throw new ConflictException(`snapshot ${name} is being downloaded; delete it once that download has ended`);
    // A prune is removing it right now: as far as this caller is concerned it is gone.
    if (lock === 'being-removed') throw new NotFoundException(`snapshot ${name} is being removed by a prune`);
    let removed: boolean;
    try {
      removed = await this.store.remove(folder);
    } catch (err) {
      this.logger.error(`delete of snapshot ${name} failed: ${(err as Error).message}`);
      throw err;
    } finally {
      this.locks.releaseRemove(name);
    }
    if (!removed) throw new NotFoundException(`no snapshot named ${name} (removed meanwhile)`);
    this.metrics.snapshotsRemoved.inc({ reason: 'delete' });
    this.logger.log(`snapshot ${name} deleted on request`);
  }

  async list(): Promise<SnapshotInfoDto[]> {
    const result: SnapshotInfoDto[] = [];
    for (const folder of await this.store.folders()) {
      let size: number;
      try {
        size = await this.store.size(folder);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // pruned while we looked
        throw err;
      }
      result.push({
        name: folder.name,
        created_at: snapshotTime(folder.name)?.toISOString() ?? null,
        size_bytes: size,
        in_use: this.locks.inUse(folder.name),
      });
    }
    return result;
  }
}
