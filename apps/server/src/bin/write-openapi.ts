import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import { NestFactory } from '@nestjs/core';
import { AppModule } from '../app.module';
import { buildOpenApiDocument, stableJson } from '../openapi';
import { parseSettings } from '../config/settings';

/** Writes the OpenAPI spec without opening a port: the app is built in preview mode only. */
async function main(output: string): Promise<void> {
  const settings = parseSettings(['-snapshot_dir', '/nonexistent']);
  const app = await NestFactory.create(AppModule.forRoot(settings), { preview: true, logger: false });
  writeFileSync(output, stableJson(buildOpenApiDocument(app)));
  await app.close();
}

main(process.argv[2] ?? 'openapi/openapi.json').catch((err: Error) => {
  process.stderr.write(`write-openapi: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
