// Go's time.ParseDuration syntax: "300ms", "1.5h", "2h45m", "-1h"; a lone "0" is allowed.
const UNIT_NS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  'µs': 1e3,
  'μs': 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

// Largest value Go's int64 nanosecond Duration can hold.
const MAX_DURATION_NS = 9223372036854775807;

export class DurationError extends Error {}

/** Parses a Go duration string and returns milliseconds. Throws DurationError when it is not one. */
export function parseDuration(input: string): number {
  const text = input.trim();
  if (text !== input || text === '') {
    throw new DurationError(`invalid duration ${JSON.stringify(input)}`);
  }
  let rest = text;
  let sign = 1;
  if (rest[0] === '-' || rest[0] === '+') {
    sign = rest[0] === '-' ? -1 : 1;
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  if (rest === '') throw new DurationError(`invalid duration ${JSON.stringify(input)}`);
  const part = /^(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/;
  let totalNs = 0;
  while (rest !== '') {
    const m = part.exec(rest);
    if (!m) {
      const unitless = /^(\d+(?:\.\d*)?|\.\d+)$/.test(rest);
      throw new DurationError(
        unitless
          ? `missing unit in duration ${JSON.stringify(input)} (use ns, us, ms, s, m or h)`
          : `invalid duration ${JSON.stringify(input)}`,
      );
    }
    totalNs += Number(m[1]) * UNIT_NS[m[2]];
    rest = rest.slice(m[0].length);
  }
  if (!Number.isFinite(totalNs) || totalNs > MAX_DURATION_NS) {
    throw new DurationError(`duration ${JSON.stringify(input)} is out of range`);
  }
  return (sign * totalNs) / 1e6;
}

/** Formats milliseconds the way Go prints a Duration: "1h0m0s", "15m0s", "1.5s". */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  const sign = ms < 0 ? '-' : '';
  let rest = Math.abs(ms);
  if (rest < 1000) return `${sign}${trimNumber(rest)}ms`;
  const h = Math.floor(rest / 3600e3);
  rest -= h * 3600e3;
  const m = Math.floor(rest / 60e3);
  rest -= m * 60e3;
  const s = trimNumber(rest / 1000);
  if (h > 0) return `${sign}${h}h${m}m${s}s`;
  if (m > 0) return `${sign}${m}m${s}s`;
  return `${sign}${s}s`;
}

function trimNumber(n: number): string {
  return String(Number(n.toFixed(9)));
}
