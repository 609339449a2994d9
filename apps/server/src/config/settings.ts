import {
  oneOf,
  parseBool,
  parseHttpUrl,
  parseListenAddress,
  parseNonNegativeDuration,
  parsePath,
  parsePositiveDuration,
  parsePositiveInt,
  readTokenFile,
  nonNegativeTimerDuration,
  timerDuration,
  withoutPassword,
} from './setting-parsers';

/** The server's settings once parsed and checked. */
export interface Settings {
  listenHost: string | undefined;
  listenPort: number;
  prometheusEndpoint: string;
  prometheusTimeoutMs: number;
  snapshotDir: string;
  autoprune: boolean;
  autopruneIntervalMs: number;
  autopruneKeepWithinMs: number;
  maxConcurrentDownloads: number;
  downloadIdleTimeoutMs: number;
  shutdownGraceMs: number;
  /** Bearer token every API request must carry; undefined when authentication is off. */
  authToken: string | undefined;
  logLevel: LogLevel;
  logFormat: LogFormat;
}

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ['text', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export type Kind = 'address' | 'url' | 'path' | 'file' | 'boolean' | 'duration' | 'positive-int' | 'log-level' | 'log-format';

export interface SettingDefinition {
  /** Flag name without dashes, Go style. */
  flag: string;
  env: string;
  /** Default as the user would type it; undefined means required. */
  default: string | undefined;
  kind: Kind;
  description: string;
}

/** Every setting, once: the parser, -help, the settings table in docs/configuration.md and the deployment tests read this list. */
export const SETTINGS = [
  {
    flag: 'listen_address',
    env: 'PROMBACKUP_SERVER_LISTEN_ADDRESS',
    default: ':8080',
    kind: 'address',
    description: 'Address to listen on, host:port; ":8080" means every interface.',
  },
  {
    flag: 'prometheus_endpoint',
    env: 'PROMBACKUP_SERVER_PROMETHEUS_ENDPOINT',
    default: 'http://localhost:9090',
    kind: 'url',
    description: 'Base URL of the Prometheus server, started with --web.enable-admin-api.',
  },
  {
    flag: 'prometheus_timeout',
    env: 'PROMBACKUP_SERVER_PROMETHEUS_TIMEOUT',
    default: '10m',
    kind: 'duration',
    description: 'How long to wait for Prometheus to write a snapshot (a large head block takes minutes).',
  },
  {
    flag: 'snapshot_dir',
    env: 'PROMBACKUP_SERVER_SNAPSHOT_DIR',
    default: undefined,
    kind: 'path',
    description: "Prometheus' snapshot folder, <storage.tsdb.path>/snapshots, as this server sees it.",
  },
  {
    flag: 'autoprune',
    env: 'PROMBACKUP_SERVER_AUTOPRUNE_ENABLE',
    default: 'false',
    kind: 'boolean',
    description: 'Prune old snapshots in the background.',
  },
  {
    flag: 'autoprune_interval',
    env: 'PROMBACKUP_SERVER_AUTOPRUNE_INTERVAL',
    default: '15m',
    kind: 'duration',
    description: 'Time between background prune runs (each randomised by ±10%).',
  },
  {
    flag: 'autoprune_keep_within',
    env: 'PROMBACKUP_SERVER_AUTOPRUNE_KEEP_WITHIN',
    default: '1h',
    kind: 'duration',
    description: 'Background pruning keeps snapshots younger than this.',
  },
  {
    flag: 'max_concurrent_downloads',
    env: 'PROMBACKUP_SERVER_MAX_CONCURRENT_DOWNLOADS',
    default: '4',
    kind: 'positive-int',
    description: 'Downloads streamed at once; more are refused with 429 and Retry-After.',
  },
  {
    flag: 'download_idle_timeout',
    env: 'PROMBACKUP_SERVER_DOWNLOAD_IDLE_TIMEOUT',
    default: '5m',
    kind: 'duration',
    description: 'A download whose client takes no bytes for this long is cut off and recorded as failed.',
  },
  {
    flag: 'shutdown_grace',
    env: 'PROMBACKUP_SERVER_SHUTDOWN_GRACE',
    default: '25s',
    kind: 'duration',
    description: 'On SIGTERM, how long running downloads may go on before the server exits (new ones get 503).',
  },
  {
    flag: 'auth_token_file',
    env: 'PROMBACKUP_SERVER_AUTH_TOKEN_FILE',
    default: '',
    kind: 'file',
    description: 'File holding a bearer token every request must carry, except /metrics, /healthz, /readyz, /favicon.ico and /docs; empty: no authentication.',
  },
  {
    flag: 'log_level',
    env: 'PROMBACKUP_SERVER_LOG_LEVEL',
    default: 'info',
    kind: 'log-level',
    description: 'Least severe messages logged: debug, info, warn or error. debug adds probes, scrapes and the framework start-up.',
  },
  {
    flag: 'log_format',
    env: 'PROMBACKUP_SERVER_LOG_FORMAT',
    default: 'text',
    kind: 'log-format',
    description: 'text (one line per message) or json (one object per line: time, level, message, fields).',
  },
] as const satisfies readonly SettingDefinition[];

type Flag = (typeof SETTINGS)[number]['flag'];

export class SettingsError extends Error {}

export type ParsedCommandLine = { kind: 'help' } | { kind: 'version' } | { kind: 'run'; settings: Settings };

/**
 * Reads settings from Go-style flags ("-flag value", "-flag=value", "--flag=value", bare "-boolflag")
 * and environment variables; a flag wins over its variable.
 */
export function parseCommandLine(argv: readonly string[], env: NodeJS.ProcessEnv): ParsedCommandLine {
  const raw = new Map<Flag, { value: string; source: string }>();
  for (const def of SETTINGS) {
    const fromEnv = env[def.env];
    if (fromEnv !== undefined && fromEnv !== '') raw.set(def.flag, { value: fromEnv, source: def.env });
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const m = /^--?([^=]+)(?:=(.*))?$/s.exec(arg);
    if (!m || arg === '-' || arg === '--') {
      throw new SettingsError(`unexpected argument ${JSON.stringify(arg)}; see -help`);
    }
    const [, name, inline] = m;
    if (name === 'help' || name === 'h') return { kind: 'help' };
    if (name === 'version') return { kind: 'version' };
    const def = SETTINGS.find((d) => d.flag === name);
    if (!def) throw new SettingsError(`unknown flag -${name}; see -help`);
    let value = inline;
    if (value === undefined) {
      if (def.kind === 'boolean') {
        value = 'true';
      } else {
        if (i + 1 >= argv.length) throw new SettingsError(`flag -${name} needs a value`);
        value = argv[++i];
      }
    }
    raw.set(def.flag, { value, source: `-${name}` });
  }

  const get = <T>(flag: Flag, convert: (value: string, def: SettingDefinition) => T): T => {
    const def = SETTINGS.find((d) => d.flag === flag)!;
    const given = raw.get(flag);
    const value = given?.value ?? def.default;
    if (value === undefined) {
      throw new SettingsError(`-${flag} (or ${def.env}) is required: ${def.description}`);
    }
    try {
      return convert(value, def);
    } catch (err) {
      const where = given ? given.source : `default of -${flag}`;
      throw new SettingsError(`invalid value ${JSON.stringify(def.kind === 'url' ? withoutPassword(value) : value)} for ${where}: ${(err as Error).message}`);
    }
  };

  const listen = get('listen_address', parseListenAddress);
  return {
    kind: 'run',
    settings: {
      listenHost: listen.host,
      listenPort: listen.port,
      prometheusEndpoint: get('prometheus_endpoint', parseHttpUrl),
      prometheusTimeoutMs: get('prometheus_timeout', timerDuration()),
      snapshotDir: get('snapshot_dir', parsePath),
      autoprune: get('autoprune', parseBool),
      autopruneIntervalMs: get('autoprune_interval', timerDuration('1s')),
      autopruneKeepWithinMs: get('autoprune_keep_within', parseNonNegativeDuration),
      maxConcurrentDownloads: get('max_concurrent_downloads', parsePositiveInt),
      downloadIdleTimeoutMs: get('download_idle_timeout', parsePositiveDuration),
      shutdownGraceMs: get('shutdown_grace', nonNegativeTimerDuration),
      authToken: get('auth_token_file', readTokenFile),
      logLevel: get('log_level', oneOf(LOG_LEVELS)),
      logFormat: get('log_format', oneOf(LOG_FORMATS)),
    },
  };
}

/** Settings from a command line that must start the server (no -help or -version). */
export function parseSettings(argv: readonly string[], env: NodeJS.ProcessEnv = {}): Settings {
  const parsed = parseCommandLine(argv, env);
  if (parsed.kind !== 'run') throw new SettingsError(`expected settings, got -${parsed.kind}`);
  return parsed.settings;
}
