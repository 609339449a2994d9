import { type INestApplication, Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { AppModule } from './app.module';
import { ZSTD_ENGINE } from './archive/compressors';
import { AppLogger } from './common/app-logger';
import { ErrorFilter } from './common/error.filter';
import { withoutPassword } from './config/setting-parsers';
import type { Settings } from './config/settings';
import { VERSION } from './config/version';
import { formatDuration } from '@prombackup/contract';
import { mountSwaggerUi } from './openapi';

/** Request bodies are a handful of form fields; anything larger is refused with 413. */
const BODY_LIMIT = '16kb';

/** Creates the fully configured application, not yet listening. */
export async function createApp(settings: Settings, options: { logger?: false } = {}): Promise<INestApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(settings), {
    bodyParser: false,
    logger: options.logger ?? new AppLogger(settings.logLevel, settings.logFormat),
  });
  app.disable('x-powered-by');
  app.useBodyParser('urlencoded', { limit: BODY_LIMIT, extended: false });
  app.useGlobalFilters(new ErrorFilter());
  mountSwaggerUi(app);
  return app;
}

export async function listen(app: INestApplication, settings: Settings): Promise<void> {
  try {
    if (settings.listenHost === undefined) await app.listen(settings.listenPort);
    else await app.listen(settings.listenPort, settings.listenHost);
  } catch (err) {
    // Say which setting to fix: the bare system error (EADDRINUSE, ENOTFOUND) names none.
    const where = `${settings.listenHost?.includes(':') ? `[${settings.listenHost}]` : (settings.listenHost ?? '')}:${settings.listenPort}`;
    throw new Error(`cannot listen on -listen_address ${where}: ${(err as Error).message}`);
  }
  const address = app.getHttpServer().address();
  // One line with what an operator checks first; readiness logs next whether it all works.
  new Logger('prombackup-server').log({
    message:
      `version ${VERSION}, listening on ${typeof address === 'string' ? address : `${address.address}:${address.port}`}, ` +
      `Prometheus ${withoutPassword(settings.prometheusEndpoint)}, snapshots in ${settings.snapshotDir}`,
    autoprune: settings.autoprune ? `every ${formatDuration(settings.autopruneIntervalMs)} keeping ${formatDuration(settings.autopruneKeepWithinMs)}` : 'off',
    auth: settings.authToken === undefined ? 'off' : 'bearer token',
    max_concurrent_downloads: settings.maxConcurrentDownloads,
    log_level: settings.logLevel,
    // zstd-napi is optional (it is compiled at install); without it tzst runs on Node's own zstd, one thread.
    zstd: ZSTD_ENGINE,
  });
}
