import { Logger } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { ServerConfig } from '../config/server-config';
import type { Settings } from '../config/settings';
import { BearerAuthMiddleware } from './bearer-auth.middleware';
import { isPublicRequest, PUBLIC_PATHS } from './public-routes';

const TOKEN = 'c0ffee-token-of-32-characters-ok';

describe('isPublicRequest', () => {
  it('lets monitoring and the browser icon through: exactly /metrics, /healthz, /readyz, /favicon.ico', () => {
    expect([...PUBLIC_PATHS].sort()).toEqual(['/favicon.ico', '/healthz', '/metrics', '/readyz']);
    for (const path of PUBLIC_PATHS) {
      expect(isPublicRequest('GET', path)).toBe(true);
      expect(isPublicRequest('HEAD', path)).toBe(true);
    }
  });

  it.each(['/docs', '/docs/', '/docs/swagger-ui-bundle.js', '/docs/swagger-ui-init.js', '/docs/openapi.json', '/docs/openapi.yaml'])(
    'lets Swagger UI load: GET %s',
    (path) => {
      expect(isPublicRequest('GET', path)).toBe(true);
    },
  );

  it.each([
    ['GET', '/'],
    ['GET', '/api/snapshots'],
    ['POST', '/api/snapshot'],
    ['GET', '/api/download'],
    ['GET', '/api/download_status'],
    ['POST', '/api/prune'],
    ['POST', '/prune'],
    ['GET', '/no/such/path'],
    // Other methods on public paths
    ['POST', '/metrics'],
    ['DELETE', '/healthz'],
    ['POST', '/docs/openapi.json'],
    // Other spellings the router might still match
    ['GET', '/METRICS'],
    ['GET', '/healthz/'],
    ['GET', '/%6Detrics'],
    ['GET', '//metrics'],
    ['GET', '/metrics/x'],
    ['GET', '/docsx'],
    ['GET', '/api/docs/x'],
  ])('needs the token for %s %s', (method, path) => {
    expect(isPublicRequest(method, path)).toBe(false);
  });
});

/** A request as express hands it over, and a response that records what was sent. */
function exchange(method: string, path: string, authorization?: string) {
  const req = { method, path, headers: authorization === undefined ? {} : { authorization }, socket: { remoteAddress: '192.0.2.1' } } as unknown as Request;
  const sent: { status?: number; headers: Record<string, string>; body?: unknown } = { headers: {} };
  const res = {
    status(code: number) {
      sent.status = code;
      return this;
    },
    set(headers: Record<string, string>) {
      Object.assign(sent.headers, headers);
      return this;
    },
    json(body: unknown) {
      sent.body = body;
      return this;
    },
  } as unknown as Response;
  const next = vi.fn() as unknown as NextFunction & ReturnType<typeof vi.fn>;
  return { req, res, next, sent };
}

function middleware(authToken: string | undefined): BearerAuthMiddleware {
  return new BearerAuthMiddleware(new ServerConfig({ authToken } as Settings));
}

describe('BearerAuthMiddleware', () => {
  const warn = vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  beforeEach(() => {
    warn.mockClear();
  });

  it('lets everything through when no token is configured', () => {
    const auth = middleware(undefined);
    expect(auth.enabled).toBe(false);
    const { req, res, next, sent } = exchange('POST', '/api/prune');
    auth.use(req, res, next);
    expect(next).toHaveBeenCalledOnce();
    expect(sent.status).toBeUndefined();
  });

  it('passes a request with the right token on', () => {
    const { req, res, next, sent } = exchange('POST', '/api/prune', `Bearer ${TOKEN}`);
    middleware(TOKEN).use(req, res, next);
    expect(next).toHaveBeenCalledOnce();
    expect(sent.status).toBeUndefined();
  });

  it('passes a public request on without a token', () => {
    const { req, res, next } = exchange('GET', '/metrics');
    middleware(TOKEN).use(req, res, next);
    expect(next).toHaveBeenCalledOnce();
  });

  it('answers a request without a token with 401, a Bearer challenge and the JSON error shape', () => {
    const { req, res, next, sent } = exchange('GET', '/no/such/path');
    middleware(TOKEN).use(req, res, next);
    expect(next).not.toHaveBeenCalled();
    expect(sent.status).toBe(401);
    expect(sent.headers['WWW-Authenticate']).toBe('Bearer realm="prombackup"');
    expect(sent.body).toEqual({ statusCode: 401, error: 'Unauthorized', message: expect.stringMatching(/bearer token is needed/) });
  });

  it('answers a wrong token with 401 invalid_token and never repeats what was sent', () => {
    const presented = 'guess-guess-guess-guess';
    const { req, res, next, sent } = exchange('GET', '/api/snapshots', `Bearer ${presented}`);
    middleware(TOKEN).use(req, res, next);
    expect(next).not.toHaveBeenCalled();
    expect(sent.status).toBe(401);
    expect(sent.headers['WWW-Authenticate']).toBe('Bearer realm="prombackup", error="invalid_token"');
    expect(sent.body).toMatchObject({ statusCode: 401, message: expect.stringMatching(/bearer token is wrong/) });
    expect(JSON.stringify(sent)).not.toContain(presented);
    expect(JSON.stringify(sent)).not.toContain(TOKEN);
  });

  it('logs each refusal with method, path and peer, but not the token sent', () => {
    const presented = 'guess-guess-guess-guess';
    const { req, res, next } = exchange('POST', '/api/prune', `Bearer ${presented}`);
    middleware(TOKEN).use(req, res, next);
    expect(warn).toHaveBeenCalledOnce();
    const line = String(warn.mock.calls[0][0]);
    expect(line).toMatch(/^POST \/api\/prune from 192\.0\.2\.1 refused: the bearer token is wrong$/);
    expect(line).not.toContain(presented);
  });
});
