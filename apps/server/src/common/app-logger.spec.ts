import { describe, expect, it } from 'vitest';
import type { LogFormat, LogLevel } from '../config/settings';
import { AppLogger } from './app-logger';

function capture(level: LogLevel, format: LogFormat) {
  const lines = { stdout: [] as string[], stderr: [] as string[] };
  const logger = new AppLogger(level, format, { stdout: (l) => lines.stdout.push(l), stderr: (l) => lines.stderr.push(l) });
  return { logger, lines };
}

describe('AppLogger', () => {
  it('drops what is below -log_level and sends warnings and errors to stderr', () => {
    const { logger, lines } = capture('warn', 'text');
    logger.debug('d', 'x');
    logger.log('i', 'x');
    logger.warn('w', 'x');
    logger.error('e', 'x');
    expect(lines.stdout).toEqual([]);
    expect(lines.stderr.map((l) => l.replace(/^\S+ /, ''))).toEqual(['WARN  [x] w\n', 'ERROR [x] e\n']);
  });

  it('writes one JSON object per line with time, level, message, context and fields', () => {
    const { logger, lines } = capture('info', 'json');
    logger.log({ message: 'download finished', id: 'abc', bytes: 12 }, 'downloads');
    const record = JSON.parse(lines.stdout[0]);
    expect(record).toEqual({ time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), level: 'info', message: 'download finished', context: 'downloads', id: 'abc', bytes: 12 });
    expect(lines.stdout[0].endsWith('}\n')).toBe(true);
  });

  it('puts fields after the message in text, quoting values with spaces', () => {
    const { logger, lines } = capture('info', 'text');
    logger.log({ message: 'started', autoprune: 'every 15m', auth: 'off' }, 'start');
    expect(lines.stdout[0]).toMatch(/^\S+Z INFO  \[start\] started autoprune="every 15m" auth=off\n$/);
  });

  it("shows Nest's start-up lines only at debug", () => {
    const info = capture('info', 'text');
    for (const context of ['NestFactory', 'InstanceLoader', 'RoutesResolver', 'RouterExplorer', 'NestApplication']) info.logger.log('chatter', context);
    expect(info.lines.stdout).toEqual([]);
    const debug = capture('debug', 'json');
    debug.logger.log('Mapped {/api/snapshot, POST} route', 'RouterExplorer');
    expect(JSON.parse(debug.lines.stdout[0])).toMatchObject({ level: 'debug', context: 'RouterExplorer' });
  });

  it("keeps an error's stack, as Nest passes it", () => {
    const { logger, lines } = capture('info', 'json');
    logger.error('boom', 'Error: boom\n    at x', 'HTTP');
    expect(JSON.parse(lines.stderr[0])).toMatchObject({ level: 'error', message: 'boom', context: 'HTTP', stack: 'Error: boom\n    at x' });
  });
});
