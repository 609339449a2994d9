import { Injectable, Logger, type NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';

/** One line per request: method, path, status, bytes sent, duration. */
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
      const status = res.writableFinished ? res.statusCode : `${res.statusCode}(aborted)`;
      this.logger.log(`${req.method} ${req.originalUrl.split('?')[0]} ${status} ${bytes}B ${ms.toFixed(1)}ms`);
    };
    res.on('finish', log);
    res.on('close', log);
    next();
  }
}
