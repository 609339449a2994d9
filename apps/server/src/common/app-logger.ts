import type { LoggerService } from '@nestjs/common';
import type { LogFormat, LogLevel } from '../config/settings';

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/**
 * Nest's own start-up chatter (modules loaded, each route mapped, "successfully started"): a
 * screenful on every start that tells an operator nothing. Kept, at debug.
 */
const FRAMEWORK_CONTEXTS = new Set(['NestFactory', 'InstanceLoader', 'RoutesResolver', 'RouterExplorer', 'NestApplication']);

/** Structured details of a message: `{ message, ...fields }` in place of a plain string. */
export interface LogRecord {
  message: string;
  [field: string]: unknown;
}

/**
 * The one logger of the server: filters by -log_level and writes -log_format, text (one line:
 * time, level, [context], message, key=value fields) or json (one object per line: time,
 * level, message, context and fields). Warnings and errors go to stderr, the rest to stdout.
 */
export class AppLogger implements LoggerService {
  constructor(
    private readonly level: LogLevel,
    private readonly format: LogFormat,
    private readonly out: { stdout: (line: string) => void; stderr: (line: string) => void } = {
      stdout: (line) => process.stdout.write(line),
      stderr: (line) => process.stderr.write(line),
    },
  ) {}

  log(message: unknown, context?: string): void {
    this.write(context !== undefined && FRAMEWORK_CONTEXTS.has(context) ? 'debug' : 'info', message, context);
  }
  error(message: unknown, ...rest: unknown[]): void {
    // Nest passes (message, stack, context) or (message, context).
    const context = typeof rest.at(-1) === 'string' ? (rest.at(-1) as string) : undefined;
    const stack = rest.length > 1 && typeof rest[0] === 'string' ? rest[0] : undefined;
    this.write('error', message, context, stack);
  }
  warn(message: unknown, context?: string): void {
    this.write('warn', message, context);
  }
  debug(message: unknown, context?: string): void {
    this.write('debug', message, context);
  }
  verbose(message: unknown, context?: string): void {
    this.write('debug', message, context);
  }
  fatal(message: unknown, context?: string): void {
    this.write('error', message, context);
  }

  private write(level: LogLevel, raw: unknown, context: string | undefined, stack?: string): void {
    if (RANK[level] < RANK[this.level]) return;
    const { message, ...fields } = toRecord(raw);
    if (stack) fields.stack = stack;
    const time = new Date().toISOString();
    const line =
      this.format === 'json'
        ? JSON.stringify({ time, level, message, ...(context ? { context } : {}), ...fields })
        : `${time} ${level.toUpperCase().padEnd(5)} ${context ? `[${context}] ` : ''}${message}${textFields(fields)}`;
    (RANK[level] >= RANK.warn ? this.out.stderr : this.out.stdout)(`${line}\n`);
  }
}

function toRecord(raw: unknown): LogRecord {
  if (raw instanceof Error) return { message: raw.message };
  if (raw !== null && typeof raw === 'object' && typeof (raw as LogRecord).message === 'string') return { ...(raw as LogRecord) };
  return { message: typeof raw === 'string' ? raw : JSON.stringify(raw) };
}

function textFields(fields: Record<string, unknown>): string {
  const parts = Object.entries(fields)
    .filter(([key, value]) => value !== undefined && key !== 'stack')
    .map(([key, value]) => `${key}=${typeof value === 'string' && !/[\s"=]/.test(value) ? value : JSON.stringify(value)}`);
  const stack = typeof fields.stack === 'string' ? `\n${fields.stack}` : '';
  return (parts.length ? ` ${parts.join(' ')}` : '') + stack;
}
