import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { formatDuration } from '@prombackup/contract';
import { ServerConfig } from '../config/server-config';
import { PruneService } from './prune.service';

const TIMEOUT_NAME = 'autoprune';

/** Jitter source, replaceable in tests. Returns a number in [0, 1). */
export class Jitter {
  random(): number {
    return Math.random();
  }
}

/**
 * Background pruning: the first run after a tenth of the interval, then one per interval, each
 * delay moved by up to ±10% so a fleet of servers does not prune in lockstep.
 */
@Injectable()
export class AutopruneScheduler implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(AutopruneScheduler.name);
  private stopped = false;

  constructor(
    private readonly config: ServerConfig,
    private readonly prune: PruneService,
    private readonly scheduler: SchedulerRegistry,
    private readonly jitter: Jitter,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.config.autoprune) return;
    this.logger.log(
      `autoprune every ${formatDuration(this.config.autopruneIntervalMs)} keeping ${formatDuration(this.config.autopruneKeepWithinMs)}`,
    );
    this.schedule(this.config.autopruneIntervalMs / 10);
  }

  onApplicationShutdown(): void {
    this.stopped = true;
    if (this.scheduler.doesExist('timeout', TIMEOUT_NAME)) this.scheduler.deleteTimeout(TIMEOUT_NAME);
  }

  /** The delay actually used for a nominal one: ±10%. */
  jittered(delayMs: number): number {
    return delayMs * (0.9 + 0.2 * this.jitter.random());
  }

  private schedule(nominalMs: number): void {
    if (this.stopped) return;
    if (this.scheduler.doesExist('timeout', TIMEOUT_NAME)) this.scheduler.deleteTimeout(TIMEOUT_NAME);
    const handle = setTimeout(() => void this.run(), this.jittered(nominalMs));
    handle.unref();
    this.scheduler.addTimeout(TIMEOUT_NAME, handle);
  }

  private async run(): Promise<void> {
    try {
      await this.prune.prune(this.config.autopruneKeepWithinMs, 'schedule');
    } catch (err) {
      this.logger.error(`autoprune failed, will retry in ${formatDuration(this.config.autopruneIntervalMs)}: ${(err as Error).message}`);
    }
    this.schedule(this.config.autopruneIntervalMs);
  }
}
