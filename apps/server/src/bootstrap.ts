import { ConsoleLogger, type INestApplication, Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { AppModule } from './app.module';
import { ErrorFilter } from './common/error.filter';
import type { Settings } from './config/settings';
import { mountSwaggerUi } from './openapi';

/** Request bodies are a handful of form fields; anything larger is refused with 413. */
const BODY_LIMIT = '16kb';

/** Creates the fully configured application, not yet listening. */
export async function createApp(settings: Settings, options: { logger?: false } = {}): Promise<INestApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(settings), {
    bodyParser: false,
    // Colour codes only help on a terminal; in a container log they are noise.
    logger: options.logger ?? new ConsoleLogger({ colors: Boolean(process.stdout.isTTY) && !process.env.NO_COLOR }),
  });
  app.disable('x-powered-by');
  app.useBodyParser('urlencoded', { limit: BODY_LIMIT, extended: false });
  app.useGlobalFilters(new ErrorFilter());
  mountSwaggerUi(app);
  return app;
}

export async function listen(app: INestApplication, settings: Settings): Promise<void> {
  if (settings.listenHost === undefined) await app.listen(settings.listenPort);
  else await app.listen(settings.listenPort, settings.listenHost);
  const address = app.getHttpServer().address();
  new Logger('prombackup-server').log(
    `listening on ${typeof address === 'string' ? address : `${address.address}:${address.port}`}, ` +
      `Prometheus ${settings.prometheusEndpoint}, snapshots in ${settings.snapshotDir}`,
  );
}
