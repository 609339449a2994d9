/** Long flags that take a value, as the Go CLI and this one spell them. */
const VALUE_FLAGS = new Set([
  'server',
  'format',
  'output',
  'keep-within',
  'level',
  'token',
  'snapshot-timeout',
  'parallel',
  ...['last', 'hourly', 'daily', 'weekly', 'monthly', 'yearly'].map((rule) => `keep-${rule}`),
]);
/** Long flags that are switches. */
const SWITCH_FLAGS = new Set(['skip-head', 'json', 'force', 'help', 'version', 'keep-snapshot', 'dry-run', 'keep-removed']);

const FALSE_WORDS = new Set(['0', 'f', 'F', 'false', 'FALSE', 'False']);
const TRUE_WORDS = new Set(['1', 't', 'T', 'true', 'TRUE', 'True']);

/** A command line that cannot be rewritten; its message names the flag. */
export class ArgvError extends Error {}

/**
 * Rewrites Go-style arguments into oclif's: "-keep_within 12h" becomes "--keep-within 12h",
 * "-skip_head=false" is dropped, and flags given before the command (Go's "-server URL create")
 * move after it.
 * Anything it does not recognise passes through untouched, for oclif to judge.
 */
export function normalizeArgv(argv: readonly string[]): string[] {
  const leading: string[] = [];
  const rest: string[] = [];
  let commandSeen = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      rest.push(...argv.slice(i));
      break;
    }
    // -h is help, as in most command-line tools; no Go spelling uses it.
    if (arg === '-h') {
      (commandSeen ? rest : leading).push('--help');
      continue;
    }
    const m = /^--?([A-Za-z][A-Za-z0-9_-]*)(?:=(.*))?$/s.exec(arg);
    const name = m?.[1].replace(/_/g, '-');
    const target = commandSeen ? rest : leading;
    if (m && name && VALUE_FLAGS.has(name)) {
      const pair = m[2] !== undefined ? [`--${name}=${m[2]}`] : [`--${name}`, ...(i + 1 < argv.length ? [argv[++i]] : [])];
      target.push(...pair);
    } else if (m && name && SWITCH_FLAGS.has(name)) {
      // Go's boolean words only: oclif would call any other value an "unexpected argument".
      if (m[2] === undefined || TRUE_WORDS.has(m[2])) target.push(`--${name}`);
      else if (!FALSE_WORDS.has(m[2])) throw new ArgvError(`--${name} is a switch: give it alone, or =true or =false, not ${JSON.stringify(m[2])}`);
    } else {
      if (!arg.startsWith('-')) commandSeen = true;
      rest.push(arg);
    }
  }
  // The command name must come first for oclif; flags that stood before it follow it.
  const commandIndex = rest.findIndex((a) => !a.startsWith('-'));
  if (commandIndex < 0) return [...rest, ...leading];
  return [...rest.slice(0, commandIndex + 1), ...leading, ...rest.slice(commandIndex + 1)];
}
