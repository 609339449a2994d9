/** Errors that mean no connection to the store could be made or kept. */
const NETWORK = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'EPIPE', 'TimeoutError', 'RequestTimeout']);
const DENIED = new Set(['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'AccessDenied', 'InvalidToken', 'ExpiredToken']);

interface SdkError extends Error {
  code?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number };
}

/** The HTTP status an SDK error came with, if it came from an answer. */
export function s3Status(err: unknown): number | undefined {
  return (err as SdkError | undefined)?.$metadata?.httpStatusCode;
}

/**
 * One line for what went wrong talking to S3: credentials, a missing bucket, a store that cannot be
 * reached, or what the store answered. HEAD answers carry no body, so the SDK's own message there
 * is just "UnknownError"; the status says more.
 */
export function describeS3Failure(err: unknown): string {
  const e = err as SdkError;
  const name = e?.Code ?? e?.name ?? '';
  const code = e?.code ?? '';
  const status = s3Status(err);
  const message = e?.message && e.message !== 'UnknownError' ? e.message : '';
  if (name === 'CredentialsProviderError' || /Could not load credentials/i.test(message)) {
    return 'no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, or run with a web identity (Kubernetes service account)';
  }
  if (/Region is missing/i.test(message)) return 'no S3 region: pass --s3-region or set AWS_REGION';
  if (DENIED.has(name) || status === 403) {
    return `the store refused access (${DENIED.has(name) ? name : 'HTTP 403'}): check the credentials (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE) and what they may do in the bucket`;
  }
  if (name === 'NoSuchBucket') return 'the bucket does not exist';
  if (NETWORK.has(code) || NETWORK.has(name) || (status === undefined && /socket|ECONN|EPIPE|timed? ?out/i.test(message))) {
    return `cannot reach the S3 endpoint: ${message || code || name}`;
  }
  if (status !== undefined) return `the store answered HTTP ${status}${name && name !== 'Unknown' ? ` ${name}` : ''}${message ? `: ${message}` : ''}`;
  return message || name || String(err);
}
