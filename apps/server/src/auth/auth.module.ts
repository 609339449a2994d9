import { Module } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { BearerAuthMiddleware } from './bearer-auth.middleware';

/**
 * Bearer-token authentication, on when -auth_token_file is set.
 *
 * The middleware is mounted on the HTTP adapter while NestFactory.create builds the application,
 * which makes it the first handler of every request. A global guard would run only for matched
 * routes (a 404 would reveal which paths exist) and after body parsing; Nest middleware from
 * configure() is registered at app.init(), behind the body parsers and Swagger UI that
 * bootstrap.ts has mounted by then, so a stranger's body would be parsed (and a malformed one
 * answered with 400) before the 401.
 */
@Module({ providers: [BearerAuthMiddleware] })
export class AuthModule {
  constructor(adapterHost: HttpAdapterHost, middleware: BearerAuthMiddleware) {
    if (!middleware.enabled) return;
    const adapter = adapterHost.httpAdapter;
    // Fail closed: an application built without an HTTP adapter must not run unauthenticated.
    if (!adapter) throw new Error('an auth token is configured but there is no HTTP server to protect');
    adapter.use(middleware.use.bind(middleware));
  }
}
