import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { Response } from 'express';
import { PrometheusError, type PrometheusFailure } from '../prometheus/prometheus-admin.client';
import { SnapshotDirError, SnapshotNotFoundError } from '../snapshots/snapshot-store';

const PROMETHEUS_STATUS: Record<PrometheusFailure, number> = {
  unreachable: HttpStatus.SERVICE_UNAVAILABLE,
  timeout: HttpStatus.GATEWAY_TIMEOUT,
  admin_api_disabled: HttpStatus.BAD_GATEWAY,
  refused: HttpStatus.BAD_GATEWAY,
  bad_response: HttpStatus.BAD_GATEWAY,
};

/**
 * Turns every error into one JSON shape, {statusCode, error, message}. Domain errors get their
 * status here; anything unexpected is logged and answered without internals (no stack, no paths).
 */
@Catch()
export class ErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('HTTP');

  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    const { status, message } = this.describe(exception);
    if (res.headersSent) {
      // Mid-stream: the status line is gone; cutting the connection is the only honest signal.
      res.destroy();
      return;
    }
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
    if (exception instanceof PrometheusError) return { status: PROMETHEUS_STATUS[exception.failure], message: exception.message };
    if (exception instanceof SnapshotNotFoundError) return { status: HttpStatus.NOT_FOUND, message: exception.message };
    if (exception instanceof SnapshotDirError) return { status: HttpStatus.SERVICE_UNAVAILABLE, message: exception.message };
    this.logger.error(exception instanceof Error ? (exception.stack ?? exception.message) : String(exception));
    return { status: HttpStatus.INTERNAL_SERVER_ERROR, message: 'internal error; see the server log' };
  }
}

function reason(status: number): string {
  const name = HttpStatus[status] as string | undefined;
  return name ? name.toLowerCase().replace(/(^|_)(\w)/g, (_, sep: string, c: string) => (sep ? ' ' : '') + c.toUpperCase()) : 'Error';
}
