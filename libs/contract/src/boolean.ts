// The spellings Go's strconv.ParseBool accepts.
const TRUE_WORDS = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const FALSE_WORDS = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

/** Parses a boolean the way Go's strconv.ParseBool does; returns undefined when it is none. */
export function parseBoolean(input: string): boolean | undefined {
  if (TRUE_WORDS.has(input)) return true;
  if (FALSE_WORDS.has(input)) return false;
  return undefined;
}
