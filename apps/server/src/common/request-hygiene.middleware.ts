import { ForbiddenException, HttpException, HttpStatus, Injectable, type NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';

/** Longest request target accepted; our parameters are a snapshot name and a few short words. */
export const MAX_URL_LENGTH = 4096;

const FORM_TYPE = 'application/x-www-form-urlencoded';

/**
 * Checks every request before routing:
 * - an over-long URL is refused with 414;
 * - a body on a POST must be a urlencoded form (what the Go API and HTML forms send), else 415;
 * - a POST from another site's page is refused with 403, so a page elsewhere cannot make a
 *   visitor's browser take snapshots or prune. Browsers say where a request comes from
 *   (Sec-Fetch-Site, Origin); API clients send neither and are not affected.
 * And it sets the headers every answer should carry.
 */
@Injectable()
export class RequestHygieneMiddleware implements NestMiddleware {
  use(req: Request, res: Response, next: NextFunction): void {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('X-Frame-Options', 'DENY');
    if (req.originalUrl.length > MAX_URL_LENGTH) {
      throw new HttpException(`the request URL is longer than ${MAX_URL_LENGTH} characters`, HttpStatus.URI_TOO_LONG);
    }
    if (req.method === 'POST') {
      if (crossSite(req)) {
        throw new ForbiddenException('cross-site form posts are refused; use the page served by this server or an API client');
      }
      if (hasBody(req) && !req.is(FORM_TYPE)) {
        throw new HttpException(
          `send parameters in the query string or as ${FORM_TYPE}, not ${req.headers['content-type'] ?? 'an untyped body'}`,
          HttpStatus.UNSUPPORTED_MEDIA_TYPE,
        );
      }
    }
    next();
  }
}

function hasBody(req: Request): boolean {
  return req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
}

function crossSite(req: Request): boolean {
  const site = req.headers['sec-fetch-site'];
  if (typeof site === 'string') return site !== 'same-origin' && site !== 'none';
  const origin = req.headers.origin;
  if (typeof origin !== 'string' || origin === '') return false;
  try {
    return new URL(origin).host !== req.headers.host;
  } catch {
    return true; // "null" and other opaque origins
  }
}
