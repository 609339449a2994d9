import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { DOCS_PATH, isPublicRequest } from './auth/public-routes';
import { VERSION } from './config/version';

/** Name of the security scheme in the spec. */
const BEARER_SCHEME = 'bearer';

/** Builds the OpenAPI document from the controllers' decorators. */
export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('prombackup-server')
    .setDescription(
      'Takes snapshots of a Prometheus TSDB and streams them as tar, tar.gz or tar.zst archives built on the fly, ' +
        'with the SHA-256 of every download recorded for end-to-end verification.',
    )
    .setVersion(VERSION)
    .setLicense('Apache-2.0', 'https://www.apache.org/licenses/LICENSE-2.0')
    .addBearerAuth(
      {
        type: 'http',
        description: 'Needed when the server runs with -auth_token_file: the token in that file.',
        bearerFormat: undefined, // an opaque token, not the JWT Nest assumes
      },
      BEARER_SCHEME,
    )
    // Every operation needs it, except the public ones marked below.
    .addSecurityRequirements(BEARER_SCHEME)
    .build();
  const document = SwaggerModule.createDocument(app, config, {
    // operationIds come from the decorators; without them Nest would prefix the controller name.
    operationIdFactory: (_controllerKey: string, methodKey: string) => methodKey,
  });
  markPublicOperations(document);
  return document;
}

/** Operations the auth middleware lets through without a token get an empty security list. */
function markPublicOperations(document: OpenAPIObject): void {
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of ['get', 'head'] as const) {
      const operation = item[method];
      if (operation && isPublicRequest(method.toUpperCase(), path)) operation.security = [];
    }
  }
}

/** Serves Swagger UI at /docs and the spec at /docs/openapi.json. */
export function mountSwaggerUi(app: INestApplication): void {
  const document = buildOpenApiDocument(app);
  SwaggerModule.setup(DOCS_PATH, app, document, {
    jsonDocumentUrl: `${DOCS_PATH}/openapi.json`,
    yamlDocumentUrl: `${DOCS_PATH}/openapi.yaml`,
    customSiteTitle: 'prombackup-server API',
  });
}

/** JSON with object keys sorted at every level, so the written spec is byte-identical run to run. */
export function stableJson(value: unknown): string {
  const sort = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sort);
    if (v !== null && typeof v === 'object') {
      return Object.fromEntries(
        Object.keys(v as object)
          .sort()
          .map((k) => [k, sort((v as Record<string, unknown>)[k])]),
      );
    }
    return v;
  };
  return `${JSON.stringify(sort(value), null, 2)}\n`;
}
