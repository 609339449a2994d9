/** Where Swagger UI is mounted. */
export const DOCS_PATH = 'docs';

/** Answered without a token: what scrapers, probes and a browser tab ask for on their own. */
export const PUBLIC_PATHS: readonly string[] = ['/metrics', '/healthz', '/readyz', '/favicon.ico'];

/**
 * Whether a request may skip authentication. Only GET and HEAD, and only exact paths: anything
 * spelled differently (case, trailing slash, percent-encoding) needs the token, so a
 * routing quirk can only make a public path private, never the reverse.
 *
 * All of Swagger UI under /docs is public, /docs/openapi.json included: swagger-ui-init.js
 * carries the whole document anyway, and it describes this open-source API, not this server's
 * data. Every call the UI makes to the API ("Try it out") still needs the token.
 */
export function isPublicRequest(method: string, path: string): boolean {
  if (method !== 'GET' && method !== 'HEAD') return false;
  return PUBLIC_PATHS.includes(path) || path === `/${DOCS_PATH}` || path.startsWith(`/${DOCS_PATH}/`);
}
