import { HttpStatus, Injectable, Logger, type NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { ServerConfig } from '../config/server-config';
import { BearerToken } from './bearer-token';
import { isPublicRequest } from './public-routes';

const AUTH_REALM = 'prombackup';

const REFUSALS = {
  missing: { message: 'a bearer token is needed in the Authorization header', challenge: `Bearer realm="${AUTH_REALM}"` },
  // RFC 6750 names the error only when a token was sent.
  wrong: { message: 'the bearer token is wrong', challenge: `Bearer realm="${AUTH_REALM}", error="invalid_token"` },
} as const;

/**
 * Refuses, with 401, every request without the configured bearer token, except the public ones.
 * With no token configured it lets everything through. The answer has the shape ErrorFilter
 * gives, written here because this runs before Nest's routing (see AuthModule).
 */
@Injectable()
export class BearerAuthMiddleware implements NestMiddleware {
  private readonly logger = new Logger('auth');
  private readonly token: BearerToken | undefined;

  constructor(config: ServerConfig) {
    this.token = config.authToken === undefined ? undefined : new BearerToken(config.authToken);
  }

  get enabled(): boolean {
    return this.token !== undefined;
  }

  use(req: Request, res: Response, next: NextFunction): void {
    if (!this.token || isPublicRequest(req.method, req.path)) return next();
    const verdict = this.token.check(req.headers.authorization);
    if (verdict === 'accepted') return next();
    const refusal = REFUSALS[verdict];
    this.logger.warn(`${req.method} ${req.path.slice(0, 200)} from ${req.socket.remoteAddress ?? '?'} refused: ${refusal.message}`);
    res
      .status(HttpStatus.UNAUTHORIZED)
      .set({ 'WWW-Authenticate': refusal.challenge, 'Cache-Control': 'no-store' })
      .json({ statusCode: HttpStatus.UNAUTHORIZED, error: 'Unauthorized', message: refusal.message });
  }
}
