// The lock on an s3:// sync prefix, against Ceph's RADOS Gateway, a real Prometheus and the real
// server: one sync or forget at a time, a held lock reported with its holder, a dead holder's lock
// taken over when stale or with --break-lock, and a refused run changes nothing.
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from './support/downloads';
import { type FaultyProxy, startFaultyProxy } from './support/faulty-proxy';
import { CLI_BIN, type ServerProcess, runCli, startServer } from './support/processes';
import { type PrometheusInstance, startPrometheus, writeBackfillBlocks } from './support/prometheus';
import { type S3TestServer, startS3Server } from './support/radosgw';

const LOCK = '.prombackup-sync.lock';

let s3: S3TestServer;
let source: string;
let prom: PrometheusInstance;
let server: ServerProcess;
let proxy: FaultyProxy;
let bucket: string;

beforeAll(async () => {
  source = await tempDir('pb-s3lock-src-');
  await writeBackfillBlocks(source);
  const [started, p] = await Promise.all([startS3Server(), startPrometheus({ dataDir: source, scrapeSelf: false })]);
  s3 = started;
  prom = p;
  server = await startServer(['-prometheus_endpoint', prom.url, '-snapshot_dir', prom.snapshotDir]);
  proxy = await startFaultyProxy(server.url, 2048);
  bucket = await s3.createBucket();
}, 240_000);

afterAll(async () => {
  await proxy?.close();
  await server?.stop();
  await prom?.stop();
  await s3?.stop();
  await fs.rm(source, { recursive: true, force: true });
});

const run = (args: string[]) => runCli(args, { env: s3.env() });
const flat = (stderr: string) => stderr.replace(/\s*\n\s*(›\s*)?/g, ' ');
const snapshots = async () => (await fs.readdir(prom.snapshotDir).catch(() => [] as string[])).sort();
const lockOf = async (prefix: string) => JSON.parse((await s3.get(bucket, `${prefix}/${LOCK}`)).toString());

/** A sync whose first download stalls: it holds the prefix's lock until it is stopped. */
async function stalledSync(prefix: string, args: string[] = []): Promise<{ child: ChildProcess; exited: Promise<number | null>; stderr: () => string }> {
  proxy.fault = 'stall';
  const before = await snapshots();
  let stderr = '';
  const child = spawn(process.execPath, [CLI_BIN, 'sync', `s3://${bucket}/${prefix}`, '--server', proxy.url, '--skip-head', ...args], { env: { ...process.env, ...s3.env(), NO_COLOR: '1' }, stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  // Its download has begun once the server lists a new snapshot.
  for (const deadline = Date.now() + 30_000; (await snapshots()).every((n) => before.includes(n)); ) {
    if (Date.now() > deadline) throw new Error(`the sync did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  await new Promise((r) => setTimeout(r, 500));
  return { child, exited, stderr: () => stderr };
}

describe('the lock on an s3:// sync prefix', () => {
  it('rests on the store refusing a second If-None-Match: * create: of ten at once, one wins', async () => {
    const key = `race-store/${LOCK}`;
    const answers = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => s3.client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: `writer ${i}`, IfNoneMatch: '*' }))));
    const won = answers.flatMap((a, i) => (a.status === 'fulfilled' ? [i] : []));
    expect(won).toHaveLength(1);
    for (const a of answers) if (a.status === 'rejected') expect(a.reason.$metadata?.httpStatusCode).toBe(412);
    expect((await s3.get(bucket, key)).toString()).toBe(`writer ${won[0]}`);
  });

  it('a second sync and a forget during a sync are refused, naming the holder, and change nothing; SIGINT releases the lock', async () => {
    const first = await stalledSync('busy');
    try {
      const holder = await lockOf('busy');
      expect(holder).toMatchObject({ format: 'prombackup-sync-lock/1', command: 'sync', pid: first.child.pid });
      const keys = await s3.keys(bucket, 'busy/');
      const taken = await snapshots();

      const second = await run(['sync', `s3://${bucket}/busy/`, '--server', server.url, '--skip-head']);
      expect(second.code).toBe(1);
      const message = flat(second.stderr);
      expect(message).toContain(`s3://${bucket}/busy/ is locked by sync (pid ${first.child.pid} on host ${holder.host}, started ${holder.started_at})`);
      expect(message).toMatch(/If none is running, pass --break-lock; a lock not renewed for --lock-stale \(15m0s\) is taken over/);
      const forget = await run(['forget', `s3://${bucket}/busy`, '--keep-last', '1']);
      expect(forget.code).toBe(1);
      expect(flat(forget.stderr)).toContain(`is locked by sync (pid ${first.child.pid}`);
      // A dry run only reads, and takes no lock.
      expect((await run(['forget', `s3://${bucket}/busy`, '--keep-last', '1', '--dry-run'])).code).toBe(0);

      // The refused sync took no snapshot, and nothing under the prefix changed, the lock included.
      expect(await snapshots()).toEqual(taken);
      expect(await s3.keys(bucket, 'busy/')).toEqual(keys);
      expect(await lockOf('busy')).toEqual(holder);
      first.child.kill('SIGINT');
      expect(await first.exited).toBe(130);
    } finally {
      proxy.fault = 'none';
      first.child.kill('SIGKILL');
    }
    expect(flat(first.stderr())).toContain('no manifest was written and the lock is released');
    expect(await s3.keys(bucket, `busy/${LOCK}`)).toEqual([]);
    const after = await run(['sync', `s3://${bucket}/busy`, '--server', server.url, '--skip-head']);
    expect(after.code, after.stderr).toBe(0);
    expect(await s3.keys(bucket, `busy/${LOCK}`)).toEqual([]);
  });

  it('two syncs started together: exactly one gets the lock', async () => {
    proxy.fault = 'stall';
    const start = () => spawn(process.execPath, [CLI_BIN, 'sync', `s3://${bucket}/race`, '--server', proxy.url, '--skip-head'], { env: { ...process.env, ...s3.env(), NO_COLOR: '1' }, stdio: ['ignore', 'ignore', 'pipe'] });
    const children = [start(), start()];
    const outputs = children.map((c) => {
      let text = '';
      c.stderr!.on('data', (d) => (text += d));
      return { exited: new Promise<number | null>((resolve) => c.once('exit', resolve)), text: () => text };
    });
    try {
      const loser = await Promise.race(outputs.map((o, i) => o.exited.then((code) => ({ code, i }))));
      expect(loser.code).toBe(1);
      const winner = children[1 - loser.i];
      expect(flat(outputs[loser.i].text())).toContain(`is locked by sync (pid ${winner.pid}`);
      expect(await lockOf('race')).toMatchObject({ pid: winner.pid });
      winner.kill('SIGTERM');
      expect(await outputs[1 - loser.i].exited).toBe(143);
    } finally {
      proxy.fault = 'none';
      for (const c of children) c.kill('SIGKILL');
    }
    expect(await s3.keys(bucket, `race/${LOCK}`)).toEqual([]);
  });

  it('a sync killed outright leaves its lock: the next run reports it, --break-lock takes it over and completes', { timeout: 120_000 }, async () => {
    const killed = await stalledSync('killed');
    killed.child.kill('SIGKILL');
    await killed.exited;
    proxy.fault = 'none';
    const refused = await run(['sync', `s3://${bucket}/killed`, '--server', server.url, '--skip-head']);
    expect(refused.code).toBe(1);
    expect(flat(refused.stderr)).toMatch(new RegExp(`is locked by sync \\(pid ${killed.child.pid} on host .+, started .+\\), last written \\d+(\\.\\d+)?s ago`));
    const broken = await run(['sync', `s3://${bucket}/killed`, '--server', server.url, '--skip-head', '--break-lock', '--json']);
    expect(broken.code, broken.stderr).toBe(0);
    expect(flat(broken.stderr)).toMatch(new RegExp(`took over s3://${bucket}/killed/${LOCK.replace('.', '\\.')} \\(sync \\(pid ${killed.child.pid} .*\\): --break-lock`));
    expect(JSON.parse(broken.stdout.toString()).manifest).toMatch(/manifests\//);
    expect(await s3.keys(bucket, `killed/${LOCK}`)).toEqual([]);
  });

  it('a lock not renewed for --lock-stale is taken over; an object that is not a lock is reported, and broken only with --break-lock', async () => {
    const old = { format: 'prombackup-sync-lock/1', command: 'sync', host: 'other-pod', pid: 1, started_at: '2026-01-01T00:00:00.000Z', renewed_at: '2026-01-01T00:00:00.000Z', token: 'x' };
    await s3.client.send(new PutObjectCommand({ Bucket: bucket, Key: `stale/${LOCK}`, Body: JSON.stringify(old) }));
    await new Promise((r) => setTimeout(r, 2500));
    const held = await run(['forget', `s3://${bucket}/stale`, '--keep-last', '1']);
    expect(held.code).toBe(1);
    expect(flat(held.stderr)).toContain('is locked by sync (pid 1 on host other-pod, started 2026-01-01T00:00:00.000Z)');
    const taken = await run(['forget', `s3://${bucket}/stale`, '--keep-last', '1', '--lock-stale', '2s']);
    expect(taken.code, taken.stderr).toBe(0);
    expect(flat(taken.stderr)).toMatch(/took over .* \(sync \(pid 1 on host other-pod, .*\), last written \d+(\.\d+)?s ago\): not renewed for --lock-stale 2s/);
    expect(await s3.keys(bucket, `stale/${LOCK}`)).toEqual([]);

    await s3.client.send(new PutObjectCommand({ Bucket: bucket, Key: `stale/${LOCK}`, Body: 'garbage' }));
    const odd = await run(['sync', `s3://${bucket}/stale`, '--server', server.url, '--skip-head']);
    expect(odd.code).toBe(1);
    expect(flat(odd.stderr)).toContain('is locked by an object that is not a prombackup lock');
    const forced = await run(['sync', `s3://${bucket}/stale`, '--server', server.url, '--skip-head', '--break-lock']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(await s3.keys(bucket, `stale/${LOCK}`)).toEqual([]);
  });

  it('a holder whose lock was taken over meanwhile notices, and leaves the new holder\'s lock alone when it stops', async () => {
    const first = await stalledSync('stolen', ['--lock-stale', '4s']);
    const other = { format: 'prombackup-sync-lock/1', command: 'forget', host: 'other-pod', pid: 7, started_at: '2026-01-01T00:00:00.000Z', renewed_at: '2026-01-01T00:00:00.000Z', token: 'theirs' };
    try {
      await s3.client.send(new PutObjectCommand({ Bucket: bucket, Key: `stolen/${LOCK}`, Body: JSON.stringify(other) }));
      // Renewals (every second with a 4s stale age) see the foreign lock and stop rewriting it.
      await new Promise((r) => setTimeout(r, 2500));
      expect(await lockOf('stolen')).toEqual(other);
      first.child.kill('SIGINT');
      expect(await first.exited).toBe(130);
    } finally {
      proxy.fault = 'none';
      first.child.kill('SIGKILL');
    }
    expect(flat(first.stderr())).toContain(`s3://${bucket}/stolen/${LOCK} was left alone: it now belongs to forget (pid 7 on host other-pod`);
    expect(await lockOf('stolen')).toEqual(other);
    expect(await s3.keys(bucket, 'stolen/manifests/')).toEqual([]);
  });

  it.each([
    ['an hour ahead', 3_600_000],
    ['an hour behind', -3_600_000],
  ])('a host whose clock is %s judges a lock by the store\'s clock: a fresh lock is held, one not renewed for --lock-stale is taken over', async (_, skewMs) => {
    // The CLI's clock, shifted: Date.now() and new Date() both; the SDK corrects its signing from the store's answers.
    const preload = `${await tempDir('pb-s3lock-clock-')}/skew.cjs`;
    await fs.writeFile(preload, `const Real = Date; globalThis.Date = class extends Real { constructor(...a) { if (a.length) super(...a); else super(Real.now() + ${skewMs}); } static now() { return Real.now() + ${skewMs}; } };\n`);
    const skewed = (args: string[]) => runCli(args, { env: { ...s3.env(), NODE_OPTIONS: `--require ${preload}` } });
    const prefix = skewMs > 0 ? 'ahead' : 'behind';
    const holder = { format: 'prombackup-sync-lock/1', command: 'sync', host: 'other-pod', pid: 3, started_at: '2026-01-01T00:00:00.000Z', renewed_at: '2026-01-01T00:00:00.000Z', token: 'y' };
    await s3.client.send(new PutObjectCommand({ Bucket: bucket, Key: `${prefix}/${LOCK}`, Body: JSON.stringify(holder) }));
    const held = await skewed(['forget', `s3://${bucket}/${prefix}`, '--keep-last', '1']);
    expect(held.code, held.stderr).toBe(1);
    expect(flat(held.stderr)).toMatch(/is locked by sync \(pid 3 on host other-pod, .*\), last written \d(\.\d+)?s ago/);
    await new Promise((r) => setTimeout(r, 3500));
    const taken = await skewed(['forget', `s3://${bucket}/${prefix}`, '--keep-last', '1', '--lock-stale', '2s']);
    expect(taken.code, taken.stderr).toBe(0);
    expect(flat(taken.stderr)).toMatch(/took over .* last written \d(\.\d+)?s ago\): not renewed for --lock-stale 2s/);
    expect(await s3.keys(bucket, `${prefix}/${LOCK}`)).toEqual([]);
  });

  it.each([
    [['sync', 's3://BUCKET/p', '--lock-stale', 'soon'], /--lock-stale: invalid duration "soon"/],
    [['sync', 's3://BUCKET/p', '--lock-stale', '500ms'], /--lock-stale must be at least 1s, got "500ms"/],
    [['forget', 's3://BUCKET/p', '--keep-last', '1', '--lock-stale', '-5m'], /--lock-stale must be at least 1s/],
    [['forget', 's3://BUCKET/p', '--keep-last', '1', '--lock-stale', '200h'], /--lock-stale must be at most 168h/],
    [['sync', '/tmp/pb-never-made-lock', '--break-lock'], /--break-lock only apply to an s3:\/\/ target/],
    [['forget', '/tmp', '--keep-last', '1', '--lock-stale', '1m'], /--lock-stale only apply to an s3:\/\/ URL/],
  ])('refuses %j with exit 2, before any snapshot or lock', async (args, message) => {
    const before = await snapshots();
    const result = await run([...args.map((a) => a.replace('BUCKET', bucket)), ...(args[0] === 'sync' ? ['--server', server.url] : [])]);
    expect(flat(result.stderr)).toMatch(message);
    expect(result.code).toBe(2);
    expect(await snapshots()).toEqual(before);
    expect(await s3.keys(bucket, `p/`)).toEqual([]);
  });
});
