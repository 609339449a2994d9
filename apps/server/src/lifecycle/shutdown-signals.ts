import { type INestApplication, Logger } from '@nestjs/common';
import type { Server } from 'node:http';
import { formatDuration } from '@prombackup/contract';
import { LifecycleService } from './lifecycle.service';

/**
 * SIGTERM or SIGINT: refuse new downloads, let running ones finish within `graceMs`, then close
 * and exit 0. A second signal exits at once.
 */
export function handleShutdownSignals(app: INestApplication, graceMs: number): void {
  const logger = new Logger('shutdown');
  const lifecycle = app.get(LifecycleService);
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn(`second ${signal}: exiting now`);
      process.exit(1);
    }
    stopping = true;
    logger.log(`${signal}: refusing new downloads, giving running ones up to ${formatDuration(graceMs)}`);
    (async () => {
      await lifecycle.drain(graceMs);
      (app.getHttpServer() as Server).closeAllConnections();
      await app.close();
      logger.log('stopped');
      process.exit(0);
    })().catch((err: Error) => {
      logger.error(`shutdown failed: ${err.message}`);
      process.exit(1);
    });
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
