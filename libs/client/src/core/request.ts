// Hand-written request core for the generated client. openapi-typescript-codegen copies this file
// to src/core/request.ts (`--request`); everything else in src/ is generated.
//
// It differs from the stock fetch core in three ways that prombackup's API needs:
// - redirects are never followed: POST /api/snapshot answers 303 See Other pointing at the
//   download, and following it would start streaming a whole archive into memory. A 303 is
//   that endpoint's answer, so its JSON body is returned like a 2xx body;
// - buildUrl() and buildHeaders() are exported, so that a streamed download (prepareGet in the
//   package's entry, libs/client/index.ts) takes its base URL, query encoding and token from the same
//   configuration;
// - request() takes the fetch to send with, so a caller can wait longer than global fetch's
//   fixed 300 s for response headers (a snapshot of a large head block takes minutes).
import { ApiError } from './ApiError';
import type { ApiRequestOptions } from './ApiRequestOptions';
import type { ApiResult } from './ApiResult';
import { CancelablePromise } from './CancelablePromise';
import type { OpenAPIConfig } from './OpenAPI';

type Resolver<T> = (options: ApiRequestOptions) => Promise<T>;

async function resolveValue<T>(options: ApiRequestOptions, value?: T | Resolver<T>): Promise<T | undefined> {
    return typeof value === 'function' ? (value as Resolver<T>)(options) : value;
}

function appendQuery(search: URLSearchParams, key: string, value: unknown): void {
    if (value === undefined || value === null) return;
    if (Array.isArray(value)) {
        for (const item of value) appendQuery(search, key, item);
    } else {
        search.append(key, String(value));
    }
}

/** Absolute URL of an operation: base, path with its parameters filled in, query string. */
export function buildUrl(config: OpenAPIConfig, options: ApiRequestOptions): string {
    const encode = config.ENCODE_PATH ?? encodeURIComponent;
    const path = options.url
        .replace('{api-version}', config.VERSION)
        .replace(/{(.*?)}/g, (whole: string, name: string) =>
            options.path && Object.prototype.hasOwnProperty.call(options.path, name) ? encode(String(options.path[name])) : whole,
        );
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries(options.query ?? {})) appendQuery(search, key, value);
    const query = search.toString();
    return `${config.BASE.replace(/\/+$/, '')}${path}${query ? `?${query}` : ''}`;
}

/** Request headers: Accept, configured extra headers, the operation's own, and authentication. */
export async function buildHeaders(config: OpenAPIConfig, options: ApiRequestOptions): Promise<Record<string, string>> {
    const [token, username, password, extra] = await Promise.all([
        resolveValue(options, config.TOKEN),
        resolveValue(options, config.USERNAME),
        resolveValue(options, config.PASSWORD),
        resolveValue(options, config.HEADERS),
    ]);
    const headers: Record<string, string> = { Accept: 'application/json' };
    for (const [key, value] of Object.entries({ ...extra, ...options.headers })) {
        if (value !== undefined && value !== null) headers[key] = String(value);
    }
    if (token) headers.Authorization = `Bearer ${token}`;
    else if (username && password) headers.Authorization = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
    if (options.body !== undefined && !headers['Content-Type']) {
        headers['Content-Type'] = options.mediaType ?? (typeof options.body === 'string' ? 'text/plain' : 'application/json');
    }
    return headers;
}

function requestBody(options: ApiRequestOptions): RequestInit['body'] {
    if (options.formData) {
        return new URLSearchParams(
            Object.entries(options.formData)
                .filter(([, value]) => value !== undefined && value !== null)
                .map(([key, value]): [string, string] => [key, String(value)]),
        );
    }
    if (options.body === undefined) return undefined;
    if (typeof options.body === 'string' || options.body instanceof Blob) return options.body;
    return options.mediaType?.includes('/json') === false ? String(options.body) : JSON.stringify(options.body);
}

async function responseBody(response: Response): Promise<unknown> {
    if (response.status === 204) return undefined;
    const type = response.headers.get('Content-Type') ?? '';
    const text = await response.text();
    if (/[/+]json\b/i.test(type)) {
        try {
            return JSON.parse(text);
        } catch {
            return text;
        }
    }
    return text;
}

/** Sends one request; global fetch unless the caller brings one with its own timeouts. */
export type Fetch = (url: string, init: RequestInit) => Promise<Response>;

export function request<T>(config: OpenAPIConfig, options: ApiRequestOptions, send: Fetch = fetch): CancelablePromise<T> {
    return new CancelablePromise<T>(async (resolve, reject, onCancel) => {
        const controller = new AbortController();
        onCancel(() => controller.abort());
        try {
            const url = buildUrl(config, options);
            const response = await send(url, {
                method: options.method,
                headers: await buildHeaders(config, options),
                body: requestBody(options),
                redirect: 'manual',
                signal: controller.signal,
                credentials: config.WITH_CREDENTIALS ? config.CREDENTIALS : undefined,
            });
            const body = await responseBody(response);
            const result: ApiResult = {
                url,
                ok: response.ok || response.status === 303,
                status: response.status,
                statusText: response.statusText,
                body: options.responseHeader ? (response.headers.get(options.responseHeader) ?? body) : body,
            };
            if (!result.ok) {
                const known = options.errors?.[result.status];
                throw new ApiError(options, result, known ?? `HTTP ${result.status} ${result.statusText}`.trim());
            }
            resolve(result.body as T);
        } catch (error) {
            reject(error);
        }
    });
}
