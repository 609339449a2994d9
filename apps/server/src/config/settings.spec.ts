import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseCommandLine, SETTINGS, type Settings, SettingsError } from './settings';
import { helpText } from './settings-help';

const DIR = ['-snapshot_dir', '/prometheus/snapshots'];

const TOKEN = 'a-token-of-enough-length-0123456789';
const tokenDir = mkdtempSync(path.join(os.tmpdir(), 'prombackup-token-'));
const TOKEN_FILE = path.join(tokenDir, 'token');
const SHORT_TOKEN_FILE = path.join(tokenDir, 'short');
const NON_ASCII_TOKEN_FILE = path.join(tokenDir, 'non-ascii');
const CONTROL_TOKEN_FILE = path.join(tokenDir, 'control');
writeFileSync(TOKEN_FILE, `${TOKEN}\n`);
writeFileSync(SHORT_TOKEN_FILE, 'short');
writeFileSync(NON_ASCII_TOKEN_FILE, 'pässwörd-of-enough-length-0123\n');
writeFileSync(CONTROL_TOKEN_FILE, 'a-token-of-enough-length\u0001-0123\n');
afterAll(() => rmSync(tokenDir, { recursive: true, force: true }));

/** Parses a command line that must start the server, and returns its settings. */
function run(argv: string[], env: NodeJS.ProcessEnv = {}): Settings {
  const parsed = parseCommandLine(argv, env);
  if (parsed.kind !== 'run') throw new Error(`expected settings, got ${parsed.kind}`);
  return parsed.settings;
}

/** The SettingsError a command line gives; fails the test when it gives none. */
function failure(argv: string[], env: NodeJS.ProcessEnv = {}): SettingsError {
  try {
    parseCommandLine(argv, env);
  } catch (err) {
    expect(err).toBeInstanceOf(SettingsError);
    const message = (err as SettingsError).message;
    // One clear line: main prints it and exits.
    expect(message).not.toContain('\n');
    return err as SettingsError;
  }
  throw new Error(`expected ${JSON.stringify(argv)} to be refused`);
}

describe('parseCommandLine defaults', () => {
  it('fills every optional setting with its documented default', () => {
    expect(run(DIR)).toEqual({
      listenHost: undefined,
      listenPort: 8080,
      prometheusEndpoint: 'http://localhost:9090',
      prometheusTimeoutMs: 10 * 60_000,
      snapshotDir: '/prometheus/snapshots',
      autoprune: false,
      autopruneIntervalMs: 15 * 60_000,
      autopruneKeepWithinMs: 60 * 60_000,
      maxConcurrentDownloads: 4,
      downloadIdleTimeoutMs: 5 * 60_000,
      shutdownGraceMs: 25_000,
      authToken: undefined,
      logLevel: 'info',
      logFormat: 'text',
    } satisfies Settings);
  });

  it('requires snapshot_dir and names both its flag and its variable', () => {
    const err = failure([]);
    expect(err.message).toContain('-snapshot_dir');
    expect(err.message).toContain('PROMBACKUP_SERVER_SNAPSHOT_DIR');
  });

  it('treats an empty snapshot_dir as missing, whether from a flag or the environment', () => {
    expect(failure(['-snapshot_dir=']).message).toContain('-snapshot_dir');
    expect(failure(['-snapshot_dir', '']).message).toContain('-snapshot_dir');
    expect(failure([], { PROMBACKUP_SERVER_SNAPSHOT_DIR: '' }).message).toContain('PROMBACKUP_SERVER_SNAPSHOT_DIR');
  });
});

describe('parseCommandLine flag syntax', () => {
  it.each([
    ['-flag value', ['-snapshot_dir', '/a', '-autoprune_interval', '20m']],
    ['-flag=value', ['-snapshot_dir=/a', '-autoprune_interval=20m']],
    ['--flag=value', ['--snapshot_dir=/a', '--autoprune_interval=20m']],
    ['--flag value', ['--snapshot_dir', '/a', '--autoprune_interval', '20m']],
  ])('reads %s', (_style, argv) => {
    const settings = run(argv);
    expect(settings.snapshotDir).toBe('/a');
    expect(settings.autopruneIntervalMs).toBe(20 * 60_000);
  });

  it('keeps an "=" inside a value', () => {
    expect(run(['-snapshot_dir=/data/a=b']).snapshotDir).toBe('/data/a=b');
  });

  it('turns a bare boolean flag on', () => {
    expect(run([...DIR, '-autoprune']).autoprune).toBe(true);
    expect(run(['-autoprune', ...DIR]).autoprune).toBe(true);
    expect(run([...DIR, '--autoprune']).autoprune).toBe(true);
  });

  it('turns a boolean flag off with -flag=false', () => {
    expect(run([...DIR, '-autoprune=false'], { PROMBACKUP_SERVER_AUTOPRUNE_ENABLE: 'true' }).autoprune).toBe(false);
    expect(run([...DIR, '-autoprune=0']).autoprune).toBe(false);
  });

  it.each(['1', 't', 'T', 'TRUE', 'true', 'True'])('accepts the Go boolean %s as true', (word) => {
    expect(run([...DIR, `-autoprune=${word}`]).autoprune).toBe(true);
  });

  it.each(['0', 'f', 'F', 'FALSE', 'false', 'False'])('accepts the Go boolean %s as false', (word) => {
    expect(run([...DIR, `-autoprune=${word}`], { PROMBACKUP_SERVER_AUTOPRUNE_ENABLE: '1' }).autoprune).toBe(false);
  });

  it('does not take the next word as the value of a boolean flag, as Go does not', () => {
    // Go's flag package reads "-autoprune false" as the flag and a stray argument.
    expect(failure([...DIR, '-autoprune', 'false']).message).toContain('"false"');
  });

  it('lets the last of a repeated flag win', () => {
    expect(run(['-snapshot_dir', '/a', '-snapshot_dir', '/b']).snapshotDir).toBe('/b');
  });

  it('refuses an unknown flag, naming it', () => {
    expect(failure([...DIR, '-snapshotdir', '/x']).message).toContain('-snapshotdir');
  });

  it('refuses a positional argument', () => {
    expect(failure([...DIR, 'serve']).message).toContain('"serve"');
    expect(failure([...DIR, '-']).message).toContain('"-"');
  });

  it('refuses a value flag at the end of the line without its value', () => {
    expect(failure(['-snapshot_dir']).message).toContain('-snapshot_dir');
    expect(failure([...DIR, '-autoprune_interval']).message).toContain('-autoprune_interval');
  });

  it.each([['-help'], ['-h'], ['--help'], ['--h']])('%s asks for help', (flag) => {
    expect(parseCommandLine([flag], {})).toEqual({ kind: 'help' });
  });

  it('-help wins even without the required snapshot_dir', () => {
    expect(parseCommandLine(['-autoprune', '-help'], {})).toEqual({ kind: 'help' });
  });

  it.each([['-version'], ['--version']])('%s asks for the version', (flag) => {
    expect(parseCommandLine([flag], {})).toEqual({ kind: 'version' });
  });
});

describe('parseCommandLine environment', () => {
  const env: NodeJS.ProcessEnv = {
    PROMBACKUP_SERVER_LISTEN_ADDRESS: '127.0.0.1:9999',
    PROMBACKUP_SERVER_PROMETHEUS_ENDPOINT: 'https://prom.example:9091/prefix/',
    PROMBACKUP_SERVER_PROMETHEUS_TIMEOUT: '90s',
    PROMBACKUP_SERVER_SNAPSHOT_DIR: '/env/snapshots',
    PROMBACKUP_SERVER_AUTOPRUNE_ENABLE: 'true',
    PROMBACKUP_SERVER_AUTOPRUNE_INTERVAL: '1h30m',
    PROMBACKUP_SERVER_AUTOPRUNE_KEEP_WITHIN: '12h',
    PROMBACKUP_SERVER_MAX_CONCURRENT_DOWNLOADS: '7',
    PROMBACKUP_SERVER_DOWNLOAD_IDLE_TIMEOUT: '45s',
    PROMBACKUP_SERVER_SHUTDOWN_GRACE: '2m',
    PROMBACKUP_SERVER_AUTH_TOKEN_FILE: TOKEN_FILE,
    PROMBACKUP_SERVER_LOG_LEVEL: 'debug',
    PROMBACKUP_SERVER_LOG_FORMAT: 'json',
  };

  it('reads every setting from its variable', () => {
    expect(run([], env)).toEqual({
      listenHost: '127.0.0.1',
      listenPort: 9999,
      prometheusEndpoint: 'https://prom.example:9091/prefix',
      prometheusTimeoutMs: 90_000,
      snapshotDir: '/env/snapshots',
      autoprune: true,
      autopruneIntervalMs: 90 * 60_000,
      autopruneKeepWithinMs: 12 * 3_600_000,
      maxConcurrentDownloads: 7,
      downloadIdleTimeoutMs: 45_000,
      shutdownGraceMs: 120_000,
      authToken: TOKEN,
      logLevel: 'debug',
      logFormat: 'json',
    } satisfies Settings);
  });

  it('has one variable per setting, all of them covered above', () => {
    expect(Object.keys(env).sort()).toEqual(SETTINGS.map((s) => s.env).sort());
  });

  it('lets every flag win over its variable', () => {
    const settings = run(
      [
        '-listen_address=:7000',
        '-prometheus_endpoint=http://other:9090',
        '-prometheus_timeout=5s',
        '-snapshot_dir=/flag/snapshots',
        '-autoprune=false',
        '-autoprune_interval=2m',
        '-autoprune_keep_within=0s',
        '-max_concurrent_downloads=1',
        '-download_idle_timeout=10s',
        '-shutdown_grace=0s',
        '-auth_token_file=',
        '-log_level=warn',
        '-log_format=text',
      ],
      env,
    );
    expect(settings).toEqual({
      listenHost: undefined,
      listenPort: 7000,
      prometheusEndpoint: 'http://other:9090',
      prometheusTimeoutMs: 5_000,
      snapshotDir: '/flag/snapshots',
      autoprune: false,
      autopruneIntervalMs: 120_000,
      autopruneKeepWithinMs: 0,
      maxConcurrentDownloads: 1,
      downloadIdleTimeoutMs: 10_000,
      shutdownGraceMs: 0,
      authToken: undefined,
      logLevel: 'warn',
      logFormat: 'text',
    } satisfies Settings);
  });

  it('does not let a bad variable fail when the flag overrides it', () => {
    expect(run([...DIR, '-autoprune_interval=5m'], { PROMBACKUP_SERVER_AUTOPRUNE_INTERVAL: 'soon' }).autopruneIntervalMs).toBe(
      300_000,
    );
  });

  it('ignores variables of other programs', () => {
    expect(run(DIR, { SNAPSHOT_DIR: '/x', PROMBACKUP_SNAPSHOT_DIR: '/y' }).snapshotDir).toBe('/prometheus/snapshots');
  });
});

describe('parseCommandLine listen address', () => {
  it.each([
    [':8080', undefined, 8080],
    ['0.0.0.0:80', '0.0.0.0', 80],
    ['localhost:9000', 'localhost', 9000],
    ['[::1]:8081', '::1', 8081],
    ['[::]:8082', '::', 8082],
  ])('reads %s', (address, host, port) => {
    const settings = run([...DIR, '-listen_address', address]);
    expect(settings.listenHost).toBe(host);
    expect(settings.listenPort).toBe(port);
  });
});

describe('parseCommandLine bad values name the setting', () => {
  // [flag, bad value, what the message should also say]
  const cases: [string, string, RegExp][] = [
    ['listen_address', '8080', /host:port/],
    ['listen_address', 'localhost', /host:port/],
    ['listen_address', ':http', /host:port/],
    ['listen_address', ':65536', /port out of range/],
    ['listen_address', '', /host:port/],
    ['prometheus_endpoint', 'not a url', /not a URL/],
    ['prometheus_endpoint', 'localhost:9090', /http or https/],
    ['prometheus_endpoint', 'ftp://prom:9090', /http or https/],
    ['prometheus_endpoint', '', /not a URL/],
    ['prometheus_endpoint', 'http://prom:9090/?x=1', /without a query or a fragment/],
    ['prometheus_endpoint', 'http://prom:9090#top', /without a query or a fragment/],
    ['prometheus_timeout', '10', /missing unit/],
    ['prometheus_timeout', 'soon', /invalid duration/],
    ['prometheus_timeout', '0s', /greater than zero/],
    ['prometheus_timeout', '-1m', /greater than zero/],
    ['snapshot_dir', '/a\0b', /NUL/],
    ['autoprune', 'yes', /want one of/],
    ['autoprune', 'on', /want one of/],
    ['autoprune', '', /want one of/],
    ['autoprune_interval', '15', /missing unit/],
    ['autoprune_interval', 'daily', /invalid duration/],
    ['autoprune_interval', '0', /greater than zero/],
    ['autoprune_interval', '-15m', /greater than zero/],
    ['autoprune_interval', '999ms', /at least 1s/],
    ['autoprune_interval', '500h1ns', /at most 500h/],
    ['prometheus_timeout', '2562047h', /at most 500h/],
    ['shutdown_grace', '501h', /at most 500h/],
    ['autoprune_keep_within', '1d', /invalid duration/],
    ['autoprune_keep_within', '-1h', /negative/],
    ['max_concurrent_downloads', '0', /1 to 10000/],
    ['max_concurrent_downloads', 'abc', /1 to 10000/],
    ['max_concurrent_downloads', '-1', /1 to 10000/],
    ['max_concurrent_downloads', '1.5', /1 to 10000/],
    ['max_concurrent_downloads', '10001', /1 to 10000/],
    ['download_idle_timeout', '0s', /greater than zero/],
    ['download_idle_timeout', 'idle', /invalid duration/],
    ['shutdown_grace', '-5s', /negative/],
    ['shutdown_grace', '30', /missing unit/],
    ['auth_token_file', '/nonexistent/token', /cannot read the token file \(ENOENT\)/],
    ['auth_token_file', SHORT_TOKEN_FILE, /at least 16 characters/],
    ['auth_token_file', NON_ASCII_TOKEN_FILE, /printable ASCII/],
    ['auth_token_file', CONTROL_TOKEN_FILE, /printable ASCII/],
    ['log_level', 'verbose', /want one of debug, info, warn, error/],
    ['log_level', 'INFO', /want one of debug, info, warn, error/],
    ['log_format', 'xml', /want one of text, json/],
  ];

  it.each(cases)('-%s=%j is refused naming the flag', (flag, value, reason) => {
    const argv = flag === 'snapshot_dir' ? [`-${flag}=${value}`] : [...DIR, `-${flag}=${value}`];
    const err = failure(argv);
    expect(err.message).toContain(`-${flag}`);
    expect(err.message).toMatch(reason);
  });

  // An empty variable counts as unset, so only non-empty bad values apply here.
  it.each(cases.filter(([, value]) => value !== ''))('%s=%j from the environment is refused naming the variable', (flag, value, reason) => {
    const def = SETTINGS.find((s) => s.flag === flag)!;
    const err = failure(flag === 'snapshot_dir' ? [] : DIR, { [def.env]: value });
    expect(err.message).toContain(def.env);
    expect(err.message).toMatch(reason);
  });

  it('covers every setting with at least one bad value', () => {
    const covered = new Set(cases.map(([flag]) => flag));
    expect([...covered].sort()).toEqual(SETTINGS.map((s) => s.flag).sort());
  });

  it('allows a zero keep_within, which keeps nothing', () => {
    expect(run([...DIR, '-autoprune_keep_within=0']).autopruneKeepWithinMs).toBe(0);
  });
});

describe('helpText', () => {
  const text = helpText('1.2.3');

  it('says which version it belongs to', () => {
    expect(text).toContain('1.2.3');
  });

  it.each(SETTINGS.map((s) => [s.flag, s] as const))('lists -%s with its variable and default', (flag, def) => {
    // Each setting is a block: the flag line, then indented lines until the next flag.
    const lines = text.split('\n');
    const start = lines.findIndex((l) => new RegExp(`^\\s*-${flag}(\\s|$)`).test(l));
    expect(start).toBeGreaterThanOrEqual(0);
    const rest = lines.slice(start + 1);
    const end = rest.findIndex((l) => /^\s*-\w/.test(l));
    const block = (end < 0 ? rest : rest.slice(0, end)).join('\n');
    expect(block).toContain(def.env);
    if (def.default === undefined) expect(block).toContain('required');
    else expect(block).toContain(JSON.stringify(def.default));
  });

  it('lists -help and -version', () => {
    expect(text).toMatch(/^\s*-help\b/m);
    expect(text).toMatch(/^\s*-version\b/m);
  });
});

describe('SETTINGS', () => {
  // The table in SPEC.md, which the settings must keep.
  it.each([
    ['listen_address', 'PROMBACKUP_SERVER_LISTEN_ADDRESS', ':8080'],
    ['prometheus_endpoint', 'PROMBACKUP_SERVER_PROMETHEUS_ENDPOINT', 'http://localhost:9090'],
    ['snapshot_dir', 'PROMBACKUP_SERVER_SNAPSHOT_DIR', undefined],
    ['autoprune', 'PROMBACKUP_SERVER_AUTOPRUNE_ENABLE', 'false'],
    ['autoprune_interval', 'PROMBACKUP_SERVER_AUTOPRUNE_INTERVAL', '15m'],
    ['autoprune_keep_within', 'PROMBACKUP_SERVER_AUTOPRUNE_KEEP_WITHIN', '1h'],
  ])('has -%s with variable %s and default %j as the spec says', (flag, env, def) => {
    const setting = SETTINGS.find((s) => s.flag === flag);
    expect(setting).toMatchObject({ env, default: def });
  });
});
