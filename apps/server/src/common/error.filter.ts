import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, HttpStatus, Logger, NotFoundException } from '@nestjs/common';
import type { Request, Response } from 'express';
import { ERROR_MESSAGE_LOCAL } from './access-log.middleware';

/**
 * Turns every error into one JSON shape, {statusCode, error, message}. Domain errors carry their
 * status as HttpExceptions; anything unexpected is logged and answered without internals.
 */
@Catch()
export class ErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('HTTP');

  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    const req = host.switchToHttp().getRequest<Request>();
    let { status, message } = this.describe(exception);
    if (status === HttpStatus.NOT_FOUND && isRouterMiss(exception)) {
      const allowed = allowedMethods(req);
      if (allowed.length > 0) {
        status = HttpStatus.METHOD_NOT_ALLOWED;
        message = `${req.method} is not allowed on ${req.path}; use ${allowed.join(' or ')}`;
        if (!res.headersSent) res.setHeader('Allow', allowed.join(', '));
      } else {
        message = `no such path: ${req.path.length > 100 ? `${req.path.slice(0, 100)}…` : req.path}`;
      }
    }
    // The access line carries the reason: a bare "POST /api/snapshot 502" tells an operator nothing.
    res.locals[ERROR_MESSAGE_LOCAL] = message;
    if (res.headersSent) {
      // Mid-stream: the status line is gone; cutting the connection is the only honest signal.
      res.destroy();
      return;
    }
    // Every 429 says when to come back.
    if (status === HttpStatus.TOO_MANY_REQUESTS) res.setHeader('Retry-After', '10');
    res.status(status).json({ statusCode: status, error: reason(status), message });
  }

  private describe(exception: unknown): { status: number; message: string } {
    if (exception instanceof HttpException) {
      const body = exception.getResponse();
      const message =
        typeof body === 'string' ? body : Array.isArray((body as { message?: unknown }).message)
          ? ((body as { message: string[] }).message.join('; '))
          : String((body as { message?: unknown }).message ?? exception.message);
      return { status: exception.getStatus(), message };
    }
    const clientError = bodyParserError(exception);
    if (clientError) return clientError;
    this.logger.error(exception instanceof Error ? (exception.stack ?? exception.message) : String(exception));
    return { status: HttpStatus.INTERNAL_SERVER_ERROR, message: 'internal error; see the server log' };
  }
}

function reason(status: number): string {
  const name = HttpStatus[status] as string | undefined;
  return name ? name.toLowerCase().replace(/(^|_)(\w)/g, (_, sep: string, c: string) => (sep ? ' ' : '') + c.toUpperCase()) : 'Error';
}

/** Nest answers an unmatched route with a NotFoundException "Cannot GET /path". */
function isRouterMiss(exception: unknown): boolean {
  return exception instanceof NotFoundException && /^Cannot [A-Z]+ /.test(exception.message);
}

type RouteLayer = { route?: { methods: Record<string, boolean> }; match(path: string): boolean };

/** The methods the router serves on this path, read from the router itself. */
function allowedMethods(req: Request): string[] {
  const stack = (req.app as unknown as { router?: { stack?: RouteLayer[] } }).router?.stack ?? [];
  const methods = new Set<string>();
  for (const layer of stack) {
    if (!layer.route || !layer.match(req.path)) continue;
    for (const [method, on] of Object.entries(layer.route.methods)) if (on && method !== '_all') methods.add(method.toUpperCase());
  }
  if (methods.has('GET')) methods.add('HEAD');
  return [...methods].sort();
}

/** Errors from body parsing (too large, malformed) carry a 4xx status meant for the client. */
function bodyParserError(exception: unknown): { status: number; message: string } | undefined {
  const e = exception as { status?: unknown; expose?: unknown; type?: unknown; message?: unknown };
  if (typeof e?.status !== 'number' || e.status < 400 || e.status >= 500 || e.expose !== true) return undefined;
  if (e.type === 'entity.too.large') return { status: e.status, message: 'the request body is too large (16 KiB at most)' };
  return { status: e.status, message: `the request body cannot be read: ${String(e.message)}` };
}
