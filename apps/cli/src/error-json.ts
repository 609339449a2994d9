/** What `--json` prints for a failure. */
export interface ErrorJson {
  error: { name: string; message: string; code?: string; oclif?: { exit?: number } };
}

/**
 * The failure's name, message, errno-style code and exit code, and nothing else: oclif's own
 * toErrorJson printed every enumerable property, which for a bad flag is the whole parse (the
 * token from --token or PROMBACKUP_TOKEN among it) and the CLI's config, some 130 kB.
 */
export function errorJson(err: unknown): ErrorJson {
  const e = (err ?? {}) as { name?: unknown; message?: unknown; code?: unknown; oclif?: { exit?: unknown } };
  const error: ErrorJson['error'] = { name: typeof e.name === 'string' ? e.name : 'Error', message: typeof e.message === 'string' ? e.message : String(err) };
  if (typeof e.code === 'string') error.code = e.code;
  if (typeof e.oclif?.exit === 'number') error.oclif = { exit: e.oclif.exit };
  return { error };
}
