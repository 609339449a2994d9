// The built prombackup CLI against the real server and a real Prometheus.
import { execFile, execFileSync } from 'node:child_process';
import net from 'node:net';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ARCHIVE_FORMATS, type ArchiveFormat } from '@prombackup/contract';
import { describeFolder, readArchive, sha256 } from './support/archive';
import { type FaultyProxy, startFaultyProxy } from './support/faulty-proxy';
import { type ServerProcess, runCli, startServer } from './support/processes';
import { type PrometheusInstance, freePort, startPrometheus, waitForHeadSamples } from './support/prometheus';

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
  if (process.env.DEBUG_SERVER_LOG) console.log(server?.log());
  await proxy?.close();
  await server?.stop();
  await prom?.stop();
});

beforeEach(async () => {
  work = await fs.mkdtemp(path.join(os.tmpdir(), 'pb-cli-'));
  proxy.fault = 'none';
});

const env = () => ({ PROMBACKUP_ENDPOINT: server.url });

/** The archive at `file` holds exactly the snapshot folder it names. */
async function expectFaithful(data: Buffer, format: ArchiveFormat, snapshotName: string) {
  expect(await readArchive(data, format)).toEqual(await describeFolder(path.join(prom.snapshotDir, snapshotName)));
}

/** The archive holds one snapshot folder with at least one TSDB block; its snapshot is gone from the server. */
async function expectBackupOfRemovedSnapshot(data: Buffer, format: ArchiveFormat, snapshotName: string) {
  const entries = (await readArchive(data, format)).map((e) => e.name);
  expect(entries.every((entry) => entry === snapshotName || entry.startsWith(`${snapshotName}/`))).toBe(true);
  expect(entries.some((entry) => /\/[0-9A-Z]{26}\/meta\.json$/.test(entry))).toBe(true);
  await expect(fs.stat(path.join(prom.snapshotDir, snapshotName))).rejects.toThrow(/ENOENT/);
}

describe('seed command lines, verbatim', () => {
  it('prombackup -server URL create', async () => {
    const run = await runCli(['-server', server.url, 'create'], { cwd: work });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout.toString()).toMatch(/; snapshot removed from the server\n$/);
    const files = (await fs.readdir(work)).sort();
    expect(files).toHaveLength(2);
    expect(files[0]).toMatch(/^\d{8}T\d{6}Z-[0-9a-f]+\.tar$/);
    expect(files[1]).toBe(`${files[0]}.sha256`);
    expect(execFileSync('sha256sum', ['-c', files[1]], { cwd: work, encoding: 'utf8' })).toBe(`${files[0]}: OK\n`);
    await expectBackupOfRemovedSnapshot(await fs.readFile(path.join(work, files[0])), 'tar', files[0].replace(/\.tar$/, ''));
  });

  it('PROMBACKUP_ENDPOINT=URL prombackup create -format tgz -output FILE', async () => {
    const target = path.join(work, 'mybackup.tar.gz');
    const run = await runCli(['create', '-format', 'tgz', '-output', target], { env: env() });
    expect(run.code).toBe(0);
    const name = /from snapshot (\S+),/.exec(run.stdout.toString())![1];
    await expectBackupOfRemovedSnapshot(await fs.readFile(target), 'tgz', name);
    expect((await fs.readdir(work)).sort()).toEqual(['mybackup.tar.gz', 'mybackup.tar.gz.sha256']);
  });

  it('PROMBACKUP_ENDPOINT=URL prombackup prune -keep_within 12h', async () => {
    const old = '20200101T000000Z-clipruneold';
    await fs.mkdir(path.join(prom.snapshotDir, old));
    const run = await runCli(['prune', '-keep_within', '12h'], { env: env() });
    expect(run.code).toBe(0);
    expect(run.stdout.toString()).toContain(`removed ${old}`);
    await expect(fs.stat(path.join(prom.snapshotDir, old))).rejects.toThrow();
  });
});

describe('create', () => {
  it.each(Object.keys(ARCHIVE_FORMATS) as ArchiveFormat[])('writes a verified %s file with --json details', async (format) => {
    const target = path.join(work, `backup${ARCHIVE_FORMATS[format].extension}`);
    const run = await runCli(['create', '--server', server.url, '--format', format, '--output', target, '--json', '--keep-snapshot']);
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout.toString());
    const data = await fs.readFile(target);
    expect(result).toMatchObject({ path: target, bytes: data.length, sha256: sha256(data), format });
    expect(result.download_id).toBeTruthy();
    expect(result.seconds).toBeGreaterThan(0);
    await expectFaithful(data, format, result.snapshot_name);
  });

  it('downloads over https:// through the HTTPS client, and still catches a damaged byte', async () => {
    // A TLS proxy with a certificate made for this test; the CLI trusts it through NODE_EXTRA_CA_CERTS.
    const key = path.join(work, 'key.pem');
    const cert = path.join(work, 'cert.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    const tls = await startFaultyProxy(server.url, 4096, { key: await fs.readFile(key, 'utf8'), cert: await fs.readFile(cert, 'utf8') });
    try {
      const tlsEnv = { PROMBACKUP_ENDPOINT: tls.url, NODE_EXTRA_CA_CERTS: cert };
      const target = path.join(work, 'over-tls.tar');
      const run = await runCli(['create', '--output', target, '--json', '--keep-snapshot'], { env: tlsEnv });
      expect(run.code, run.stderr).toBe(0);
      const result = JSON.parse(run.stdout.toString());
      const data = await fs.readFile(target);
      expect(result.sha256).toBe(sha256(data));
      await expectFaithful(data, 'tar', result.snapshot_name);

      tls.fault = 'flip-byte';
      const damaged = path.join(work, 'damaged.tar');
      const refused = await runCli(['create', '--output', damaged], { env: tlsEnv });
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toMatch(/checksum mismatch/);
      await expect(fs.access(damaged)).rejects.toThrow();
    } finally {
      await tls.close();
    }
  });

  it.each(['tgz', 'tzst'] as const)('streams %s to standard output', async (format) => {
    const run = await runCli(['create', '-format', format, '-output', '-', '-skip_head', '--keep-snapshot'], { env: env() });
    expect(run.code).toBe(0);
    const name = /from snapshot (\S+),/.exec(run.stderr)![1];
    await expectFaithful(run.stdout, format, name);
  });

  it('streams into /dev/null without replacing it, hashed and verified', async () => {
    const run = await runCli(['create', '--output', '/dev/null', '--json'], { env: env() });
    expect(run.code, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout.toString());
    expect(result).toMatchObject({ path: '/dev/null', format: 'tar' });
    expect(result.bytes).toBeGreaterThan(1024);
    expect(result.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect((await fs.stat('/dev/null')).isCharacterDevice()).toBe(true);
    expect((await fs.readdir('/dev')).filter((f) => f.endsWith('.partial'))).toEqual([]);
  });

  it('streams into a named pipe that another program reads', async () => {
    const fifo = path.join(work, 'pipe');
    execFileSync('mkfifo', [fifo]);
    const read = promisify(execFile)('cat', [fifo], { encoding: 'buffer', maxBuffer: 512 * 1024 * 1024 });
    const run = await runCli(['create', '--format', 'tzst', '--output', fifo, '--json', '--keep-snapshot'], { env: env() });
    expect(run.code, run.stderr).toBe(0);
    const data = (await read).stdout;
    const result = JSON.parse(run.stdout.toString());
    expect(result).toMatchObject({ path: fifo, bytes: data.length, sha256: sha256(data) });
    await expectFaithful(data, 'tzst', result.snapshot_name);
    expect((await fs.stat(fifo)).isFIFO()).toBe(true);
    expect(await fs.readdir(work)).toEqual(['pipe']);
  });

  it('fails within its bound, naming the cause, when no program reads the named pipe', async () => {
    const fifo = path.join(work, 'pipe');
    execFileSync('mkfifo', [fifo]);
    // A reader that came and went before the CLI opened the pipe: the open would wait forever.
    await (await fs.open(fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK)).close();
    const started = Date.now();
    const run = await runCli(['create', '--output', fifo], { env: env() });
    expect(run.code).not.toBe(0);
    expect(run.stderr.toString().replace(/\s+/g, ' ')).toMatch(/cannot write .*pipe: no program opened it for reading within 10s/);
    expect(Date.now() - started).toBeLessThan(30_000);
    expect((await fs.stat(fifo)).isFIFO()).toBe(true);
  }, 40_000);

  it('fails a damaged download into a named pipe, and leaves the pipe a pipe', async () => {
    proxy.fault = 'flip-byte';
    const fifo = path.join(work, 'pipe');
    execFileSync('mkfifo', [fifo]);
    const read = promisify(execFile)('cat', [fifo], { encoding: 'buffer', maxBuffer: 512 * 1024 * 1024 });
    const run = await runCli(['create', '-server', proxy.url, '--output', fifo]);
    await read;
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/checksum mismatch/);
    expect((await fs.stat(fifo)).isFIFO()).toBe(true);
  });

  it('puts the file in the folder --output names, under the server\'s file name', async () => {
    const run = await runCli(['create', '--format', 'tgz', '--output', work, '--json', '--keep-snapshot'], { env: env() });
    expect(run.code, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout.toString());
    expect(result.path).toBe(path.join(work, `${result.snapshot_name}.tar.gz`));
    expect((await fs.readdir(work)).sort()).toEqual([`${result.snapshot_name}.tar.gz`, `${result.snapshot_name}.tar.gz.sha256`]);
    expect(result.checksum_file).toBe(`${result.path}.sha256`);
    await expectFaithful(await fs.readFile(result.path), 'tgz', result.snapshot_name);
  });

  it('refuses a socket, or a folder that is not there, as --output, before taking a snapshot', async () => {
    const before = (await fs.readdir(prom.snapshotDir)).length;
    const socketPath = path.join(work, 'sock');
    const listener = net.createServer().listen(socketPath);
    await new Promise((resolve) => listener.once('listening', resolve));
    try {
      const run = await runCli(['create', '--output', socketPath], { env: env() });
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(/sock is a socket;/);
    } finally {
      listener.close();
    }
    const missing = await runCli(['create', '--output', `${path.join(work, 'no-such-folder')}/`], { env: env() });
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/folder .*no-such-folder does not exist/);
    expect(await fs.readdir(work)).toEqual([]);
    expect((await fs.readdir(prom.snapshotDir)).length).toBe(before);
  });

  it('names the file after the snapshot in the current folder by default', async () => {
    const run = await runCli(['create', '--format', 'tzst', '--skip-head'], { env: env(), cwd: work });
    expect(run.code).toBe(0);
    const [file] = (await fs.readdir(work)).sort();
    expect(file).toMatch(/^\d{8}T\d{6}Z-[0-9a-f]+\.tar\.zst$/);
  });

  it('--no-checksum-file leaves the archive alone in its folder', async () => {
    const run = await runCli(['create', '--no-checksum-file', '--output', path.join(work, 'lone.tar'), '--json'], { env: env() });
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout.toString()).checksum_file).toBeNull();
    expect(await fs.readdir(work)).toEqual(['lone.tar']);
  });

  it('refuses to overwrite an existing file unless --force', async () => {
    const target = path.join(work, 'exists.tar');
    await fs.writeFile(target, 'precious');
    const refused = await runCli(['create', '-output', target], { env: env() });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/already exists/);
    expect(await fs.readFile(target, 'utf8')).toBe('precious');
    const forced = await runCli(['create', '-output', target, '--force'], { env: env() });
    expect(forced.code).toBe(0);
    expect((await fs.readFile(target)).length).toBeGreaterThan(1024);
    expect((await fs.readdir(work)).sort()).toEqual(['exists.tar', 'exists.tar.sha256']);
  });

  it('fails clearly and leaves no file when the server is not there', async () => {
    const target = path.join(work, 'nothing.tar');
    const run = await runCli(['create', '-server', `http://127.0.0.1:${await freePort()}`, '-output', target]);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/cannot reach the server/);
    expect(await fs.readdir(work)).toEqual([]);
  });

  it('detects bytes damaged on the way and leaves no file', async () => {
    proxy.fault = 'flip-byte';
    const target = path.join(work, 'damaged.tar');
    const run = await runCli(['create', '-server', proxy.url, '-output', target]);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/checksum mismatch/);
    expect(await fs.readdir(work)).toEqual([]);
  });

  it('detects a download cut on the way and leaves no file', async () => {
    proxy.fault = 'cut';
    const target = path.join(work, 'cut.tar.gz');
    const run = await runCli(['create', '-server', proxy.url, '-format', 'tgz', '-output', target]);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/cut off/);
    expect(await fs.readdir(work)).toEqual([]);
  });

  it('exits non-zero on standard output when the download fails', async () => {
    proxy.fault = 'flip-byte';
    const run = await runCli(['create', '-server', proxy.url, '-output', '-']);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/checksum mismatch/);
  });

  it.each([
    [['create', '-format', 'zip'], /format/],
    [['create', '--level', '0', '--format', 'tgz'], /level/],
    [['create', '--level', '3'], /--level applies only to tgz and tzst/],
    [['create', '--level', '12', '--format', 'tgz'], /--level for tgz must be a whole number from 1 to 9/],
    [['create', '-output', '/nonexistent-folder/x.tar'], /does not exist/],
    [['prune', '-keep_within', '5x'], /keep-within/],
    [['prune', '-keep_within', '-1h'], /negative/],
    [['status'], /id/],
    [['delete'], /name/],
    [['delete', '../etc'], /"\.\.\/etc" is not a snapshot name/],
    [['delete', '20991231T000000Z-nosuchsnapshot'], /not removed:[\s›]+server[\s›]+answered[\s›]+HTTP[\s›]+404/],
    [['create', '--keep-snapshot=maybe'], /keep-snapshot/],
    [['create', '--metrics-file', 'backup.txt'], /--metrics-file must end in \.prom/],
    [['create', '--metrics-file', '/nonexistent-folder/backup.prom'], /--metrics-file: folder \/nonexistent-folder does not exist/],
    [['status', 'no-such-id'], /HTTP 404/],
  ])('rejects %j with a clear message', async (args, message) => {
    const run = await runCli(args as string[], { env: env(), cwd: work });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(message);
    expect(await fs.readdir(work)).toEqual([]);
  });

  it('says how to name the server when none is given', async () => {
    const run = await runCli(['list'], { env: { PROMBACKUP_ENDPOINT: '' } });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/PROMBACKUP_ENDPOINT/);
  });
});

describe('list and status', () => {
  it('lists snapshots and shows a download status', async () => {
    const created = JSON.parse((await runCli(['create', '--json', '--keep-snapshot', '--output', path.join(work, 'a.tar')], { env: env() })).stdout.toString());
    const list = await runCli(['list'], { env: env() });
    expect(list.code).toBe(0);
    expect(list.stdout.toString()).toMatch(new RegExp(`${created.snapshot_name}\\s+\\S+Z\\s+[\\d.]+ \\w+\\s+no`));
    const listJson = JSON.parse((await runCli(['list', '--json'], { env: env() })).stdout.toString());
    expect(listJson.map((s: { name: string }) => s.name)).toContain(created.snapshot_name);
    const status = await runCli(['status', created.download_id], { env: env() });
    expect(status.code).toBe(0);
    expect(status.stdout.toString()).toContain(`finished successfully, SHA-256 ${created.sha256}`);
  });
});
