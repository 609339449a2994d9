import type { HttpAdapterHost } from '@nestjs/core';
import { describe, expect, it, vi } from 'vitest';
import { ServerConfig } from '../config/server-config';
import type { Settings } from '../config/settings';
import { AuthModule } from './auth.module';
import { BearerAuthMiddleware } from './bearer-auth.middleware';

const middleware = (authToken: string | undefined) => new BearerAuthMiddleware(new ServerConfig({ authToken } as Settings));

describe('AuthModule', () => {
  it('mounts the middleware on the HTTP adapter when a token is configured', () => {
    const use = vi.fn();
    new AuthModule({ httpAdapter: { use } } as unknown as HttpAdapterHost, middleware('c0ffee-token-of-32-characters-ok'));
    expect(use).toHaveBeenCalledOnce();
    expect(use.mock.calls[0]).toHaveLength(1); // for every path
  });

  it('mounts nothing without a token', () => {
    const use = vi.fn();
    new AuthModule({ httpAdapter: { use } } as unknown as HttpAdapterHost, middleware(undefined));
    expect(use).not.toHaveBeenCalled();
  });

  it('refuses to start with a token but no HTTP adapter, rather than run unprotected', () => {
    expect(() => new AuthModule({ httpAdapter: undefined } as unknown as HttpAdapterHost, middleware('c0ffee-token-of-32-characters-ok'))).toThrow(
      /no HTTP server to protect/,
    );
  });
});
