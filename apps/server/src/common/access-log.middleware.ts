import { Injectable, Logger, type NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';

/**
 * Probes and scrapes come every few seconds (about 17,000 lines a day with the manifests'
 * settings) and say nothing while things work: logged at debug only. /readyz failing is
 * logged by the readiness check itself, when it changes.
 */
const QUIET_PATHS = new Set(['/healthz', '/readyz', '/metrics', '/favicon.ico']);

/** Where ErrorFilter leaves the message of an error answer, for the access line. */
export const ERROR_MESSAGE_LOCAL = 'errorMessage';

/**
 * One line per request: method, path, status, bytes sent, duration, and for an error answer its
 * message. Server-side failures (5xx) are warnings, so that they show at -log_level warn.
 */
@Injectable()
export class AccessLogMiddleware implements NestMiddleware {
  private readonly logger = new Logger('access');

  use(req: Request, res: Response, next: NextFunction): void {
    const started = process.hrtime.bigint();
    const socket = req.socket;
    const bytesBefore = socket.bytesWritten;
    let logged = false;
    const log = () => {
      if (logged) return;
      logged = true;
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const bytes = socket.bytesWritten - bytesBefore;
      const path = req.originalUrl.split('?')[0];
      const status = res.writableFinished ? res.statusCode : `${res.statusCode}(aborted)`;
      const error = res.locals[ERROR_MESSAGE_LOCAL] as string | undefined;
      const line = `${req.method} ${path} ${status} ${bytes}B ${ms.toFixed(1)}ms${error ? `: ${error}` : ''}`;
      if (QUIET_PATHS.has(path)) this.logger.debug(line);
      else if (res.statusCode >= 500) this.logger.warn(line);
      else this.logger.log(line);
    };
    res.on('finish', log);
    res.on('close', log);
    next();
  }
}
