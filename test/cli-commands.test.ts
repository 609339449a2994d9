// The built CLI's commands around create, against the real server and a real Prometheus:
// snapshot clean-up, --metrics-file, download, and help, version, short flags and --json.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ArchiveFormat } from '@prombackup/contract';
import { describeFolder, readArchive, sha256 } from './support/archive';
import { type FaultyProxy, startFaultyProxy } from './support/faulty-proxy';
import { CLI_BIN, type ServerProcess, runCli, startServer } from './support/processes';
import { type PrometheusInstance, startPrometheus, waitForHeadSamples } from './support/prometheus';

let prom: PrometheusInstance;
let server: ServerProcess;
let proxy: FaultyProxy;
let work: string;

beforeAll(async () => {
  prom = await startPrometheus();
  await waitForHeadSamples(prom.url);
  server = await startServer(['-prometheus_endpoint', prom.url, '-snapshot_dir', prom.snapshotDir]);
  proxy = await startFaultyProxy(server.url);
});

afterAll(async () => {
  await proxy?.close();
  await server?.stop();
  await prom?.stop();
});

beforeEach(async () => {
  work = await fs.mkdtemp(path.join(os.tmpdir(), 'pb-cli-cmd-'));
  proxy.fault = 'none';
});

const env = () => ({ PROMBACKUP_ENDPOINT: server.url });

/** The archive holds exactly the snapshot folder it names. */
async function expectFaithful(data: Buffer, format: ArchiveFormat, snapshotName: string) {
  expect(await readArchive(data, format)).toEqual(await describeFolder(path.join(prom.snapshotDir, snapshotName)));
}

describe('snapshot clean-up', () => {
  const snapshots = async () => (await fs.readdir(prom.snapshotDir).catch(() => [] as string[])).filter((n) => /^\d{8}T/.test(n)).sort();

  it('create removes its snapshot also when the download failed, and exits with the download\'s failure', async () => {
    const before = await snapshots();
    proxy.fault = 'flip-byte';
    const run = await runCli(['create', '-server', proxy.url, '-output', path.join(work, 'bad.tar')]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/checksum mismatch/);
    expect(run.stderr).not.toMatch(/left on the server/);
    expect(await snapshots()).toEqual(before);
    expect(await fs.readdir(work)).toEqual([]);
  });

  it('create --keep-snapshot leaves it, and delete NAME removes it', async () => {
    const created = JSON.parse((await runCli(['create', '--keep-snapshot', '--json', '--output', path.join(work, 'k.tar')], { env: env() })).stdout.toString());
    expect(created.snapshot_removed).toBe(false);
    expect(await snapshots()).toContain(created.snapshot_name);
    const del = await runCli(['delete', created.snapshot_name, '--json'], { env: env() });
    expect(del.code, del.stderr).toBe(0);
    expect(JSON.parse(del.stdout.toString())).toEqual({ name: created.snapshot_name, removed: true });
    expect(await snapshots()).not.toContain(created.snapshot_name);
    const again = await runCli(['delete', created.snapshot_name], { env: env() });
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/HTTP 404/);
  });

  it('against a server without DELETE (the Go original) create says once that the snapshot was left and succeeds', async () => {
    proxy.fault = 'no-delete';
    const run = await runCli(['create', '-server', proxy.url, '-output', path.join(work, 'go.tar'), '--json']);
    expect(run.code, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout.toString());
    expect(result.snapshot_removed).toBe(false);
    const lines = run.stderr.trim().split('\n');
    expect(lines).toEqual([`prombackup: snapshot ${result.snapshot_name} was left on the server: the server has no DELETE /api/snapshot (an older prombackup-server); prune removes it later`]);
    expect(await snapshots()).toContain(result.snapshot_name);
    const del = await runCli(['delete', result.snapshot_name, '-server', proxy.url]);
    expect(del.code).toBe(1);
    expect(del.stderr).toMatch(/no DELETE \/api\/snapshot/);
  });
});

describe('--metrics-file', () => {
  const read = async (file: string) => {
    const text = await fs.readFile(file, 'utf8');
    return (name: string) => Number(new RegExp(`^prombackup_cli_${name} (\\S+)$`, 'm').exec(text)?.[1]);
  };

  it('records a verified backup, then a failed one without losing the time of the last success', async () => {
    const metrics = path.join(work, 'backup.prom');
    const target = path.join(work, 'm.tar');
    const good = await runCli(['create', '--output', target, '--metrics-file', metrics], { env: env() });
    expect(good.code, good.stderr).toBe(0);
    let value = await read(metrics);
    expect(value('last_run_success')).toBe(1);
    expect(value('last_run_bytes')).toBe((await fs.stat(target)).size);
    const succeeded = value('last_success_timestamp_seconds');
    expect(Math.abs(succeeded - Date.now() / 1000)).toBeLessThan(30);

    proxy.fault = 'cut';
    const bad = await runCli(['create', '-server', proxy.url, '--output', path.join(work, 'cut.tar'), '--metrics-file', metrics]);
    expect(bad.code).toBe(1);
    value = await read(metrics);
    expect(value('last_run_success')).toBe(0);
    expect(value('last_success_timestamp_seconds')).toBe(succeeded);
    expect(value('last_run_timestamp_seconds')).toBeGreaterThan(succeeded);
    expect((await fs.readdir(work)).sort()).toEqual(['backup.prom', 'm.tar', 'm.tar.sha256']);
  });
});

describe('the CLI as oclif users expect', () => {
  it.each([[['-h']], [['--help']], [['help']]])('%j lists the commands', async (args) => {
    const run = await runCli(args);
    expect(run.code).toBe(0);
    for (const command of ['create', 'download', 'delete', 'forget', 'list', 'prune', 'status', 'help', 'version']) expect(run.stdout.toString()).toMatch(new RegExp(`^  ${command} `, 'm'));
  });

  it('help COMMAND, COMMAND -h and COMMAND --help show that command', async () => {
    const texts = await Promise.all([['help', 'create'], ['create', '-h'], ['create', '--help']].map(async (args) => (await runCli(args)).stdout.toString()));
    for (const text of texts) expect(text).toMatch(/\$ prombackup create .*--keep-snapshot/s);
    expect(texts[1]).toBe(texts[2]);
  });

  it('help of an unknown command exits 2 saying so', async () => {
    const run = await runCli(['help', 'nosuch']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/no command "nosuch"/);
  });

  it('version prints what --version prints, and data with --json', async () => {
    const [plain, flag, json] = await Promise.all([runCli(['version']), runCli(['--version']), runCli(['version', '--json'])]);
    expect(plain.stdout.toString()).toMatch(/^prombackup\/\d+\.\d+\.\d+ \S+ node-v\S+\n$/);
    expect(plain.stdout.toString()).toBe(flag.stdout.toString());
    expect(JSON.parse(json.stdout.toString())).toMatchObject({ version: expect.stringMatching(/^\d+\.\d+\.\d+$/), node: process.versions.node });
  });

  it('takes -s, -f and -o for --server, --format and --output, and -k for --keep-within', async () => {
    const target = path.join(work, 'short.tar.gz');
    const run = await runCli(['create', '-s', server.url, '-f', 'tgz', '-o', target, '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout.toString())).toMatchObject({ path: target, format: 'tgz' });
    const prune = await runCli(['prune', '-s', server.url, '-k', '12h']);
    expect(prune.code, prune.stderr).toBe(0);
  });

  it('with --json exits with the code the JSON error reports', async () => {
    for (const [args, code] of [
      [['create', '--format', 'tgz', '--level', '12'], 2],
      [['create', '--format', 'zip'], 2],
      [['status', 'no-such-id'], 1],
    ] as const) {
      const run = await runCli([...args, '--json'], { env: env(), cwd: work });
      expect(JSON.parse(run.stdout.toString()).error.oclif.exit).toBe(code);
      expect(run.code).toBe(code);
    }
  });
});

describe('download NAME', () => {
  it('fetches an existing snapshot, verified, with its checksum file, and leaves the snapshot', async () => {
    const created = JSON.parse((await runCli(['create', '--keep-snapshot', '--json', '--output', path.join(work, 'first.tar')], { env: env() })).stdout.toString());
    const run = await runCli(['download', created.snapshot_name, '-f', 'tzst', '-o', work, '--json'], { env: env() });
    expect(run.code, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout.toString());
    expect(result).toMatchObject({ snapshot_name: created.snapshot_name, format: 'tzst', path: path.join(work, `${created.snapshot_name}.tar.zst`) });
    const data = await fs.readFile(result.path);
    expect(result.sha256).toBe(sha256(data));
    await expectFaithful(data, 'tzst', created.snapshot_name);
    expect(execFileSync('sha256sum', ['-c', path.basename(result.checksum_file)], { cwd: work, encoding: 'utf8' })).toMatch(/: OK\n$/);
    expect(await fs.readdir(prom.snapshotDir)).toContain(created.snapshot_name);
  });

  it('fails a damaged download and leaves no file', async () => {
    const created = JSON.parse((await runCli(['create', '--keep-snapshot', '--json', '--output', '/dev/null'], { env: env() })).stdout.toString());
    proxy.fault = 'flip-byte';
    const run = await runCli(['download', created.snapshot_name, '-s', proxy.url, '-o', path.join(work, 'bad.tar')]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/checksum mismatch/);
    expect(await fs.readdir(work)).toEqual([]);
  });

  it.each([
    [['download'], 2, /name/],
    [['download', '../x'], 2, /"\.\.\/x" is not a snapshot name/],
    [['download', '20991231T000000Z-nosuchsnapshot'], 1, /HTTP 404/],
  ] as const)('%j fails with exit code %i and a clear message, leaving no file', async (args, code, message) => {
    const run = await runCli([...args], { env: env(), cwd: work });
    expect(run.code).toBe(code);
    expect(run.stderr).toMatch(message);
    expect(await fs.readdir(work)).toEqual([]);
  });
});

describe('progress on a terminal', () => {
  it('counts towards the snapshot size the server sends, marked as an estimate for a compressed archive', async () => {
    const target = path.join(work, 'progress.tar.gz');
    // script(1) gives the CLI a terminal, where alone it draws progress.
    const command = `${process.execPath} ${CLI_BIN} create --server ${server.url} --format tgz --output ${target}`;
    const out = execFileSync('script', ['-qec', command, '/dev/null'], { encoding: 'utf8', timeout: 60_000 });
    const lines = out.split(/[\r\n]+/).map((line) => line.replace(/\x1b\[[0-9;]*[A-Za-z]/g, ''));
    const drawn = lines.filter((line) => line.startsWith('20') && line.includes(' of ~'));
    expect(drawn.length, out).toBeGreaterThan(0);
    expect(drawn.at(-1)).toMatch(/: [\d.]+ [KMG]?i?B of ~[\d.]+ [KMG]?i?B \(~\d+%\) at /);
    expect((await fs.stat(target)).size).toBeGreaterThan(0);
  });
});
