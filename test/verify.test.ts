// prombackup verify on real archives of a real Prometheus: good ones pass in every format; a
// flipped byte, a cut, a missing meta.json, a bad .sha256 or a damaged chunk fail saying where.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_BIN, type ServerProcess, runCli, startServer } from './support/processes';
import { type PrometheusInstance, startPrometheus, waitForHeadSamples } from './support/prometheus';

let prom: PrometheusInstance;
let server: ServerProcess;
let work: string;
const archives: Record<'tar' | 'tgz' | 'tzst', string> = { tar: '', tgz: '', tzst: '' };

beforeAll(async () => {
  prom = await startPrometheus();
  await waitForHeadSamples(prom.url);
  server = await startServer(['-prometheus_endpoint', prom.url, '-snapshot_dir', prom.snapshotDir]);
  work = await fs.mkdtemp(path.join(os.tmpdir(), 'pb-verify-'));
  for (const format of ['tar', 'tgz', 'tzst'] as const) {
    archives[format] = path.join(work, `backup.${format}`);
    const run = await runCli(['create', '--format', format, '--output', archives[format]], { env: { PROMBACKUP_ENDPOINT: server.url } });
    expect(run.code, run.stderr).toBe(0);
  }
});

afterAll(async () => {
  await server?.stop();
  await prom?.stop();
  if (work) await fs.rm(work, { recursive: true, force: true });
});

async function verify(args: string[], env?: NodeJS.ProcessEnv) {
  const run = await runCli(['verify', ...args, '--json'], { env });
  const json = run.stdout.length > 0 ? JSON.parse(run.stdout.toString()) : undefined;
  return { code: run.code, json, message: (json?.error?.message as string | undefined) ?? run.stderr };
}

/** A copy of `archive` (and, unless told otherwise, its .sha256) under a new name. */
async function copy(archive: string, name: string, withChecksum = true): Promise<string> {
  const target = path.join(work, name);
  await fs.copyFile(archive, target);
  if (withChecksum) await fs.copyFile(`${archive}.sha256`, `${target}.sha256`);
  return target;
}

/** The tar archive extracted, changed by `change`, and packed again (without a .sha256). */
async function repacked(name: string, change: (dir: string, blocks: string[]) => Promise<void>): Promise<string> {
  const dir = await fs.mkdtemp(path.join(work, 'repack-'));
  execFileSync('tar', ['-xf', archives.tar, '-C', dir]);
  const [snapshot] = await fs.readdir(dir);
  await change(path.join(dir, snapshot), (await fs.readdir(path.join(dir, snapshot))).sort());
  const target = path.join(work, name);
  execFileSync('tar', ['-cf', target, '-C', dir, snapshot]);
  return target;
}

describe('verify', () => {
  it.each(['tar', 'tgz', 'tzst'] as const)('passes a good %s archive, checked against its .sha256', async (format) => {
    const { code, json, message } = await verify([archives[format]]);
    expect(code, message).toBe(0);
    expect(json).toMatchObject({ path: archives[format], format, checksum: 'verified' });
    expect(json.sha256).toBe((await fs.readFile(`${archives[format]}.sha256`, 'utf8')).slice(0, 64));
    expect(json.blocks.length).toBeGreaterThanOrEqual(3);
    expect(json.blocks.every((b: { analyzed: boolean }) => !b.analyzed)).toBe(true);
    const human = await runCli(['verify', archives[format]]);
    expect(human.stdout.toString()).toMatch(/: OK, \d+ complete block\(s\).*SHA-256 matches/);
  });

  it('fails a flipped byte: by the SHA-256, and without it by the damage found and where', async () => {
    const flipped = await copy(archives.tzst, 'flipped.tar.zst');
    const data = await fs.readFile(flipped);
    data[Math.floor(data.length / 2)] ^= 0x40;
    await fs.writeFile(flipped, data);
    const withSum = await verify([flipped]);
    expect(withSum.code).toBe(1);
    expect(withSum.message).toMatch(/damaged or cut|SHA-256 mismatch/);
    const tar = await copy(archives.tar, 'flipped.tar');
    const tarData = await fs.readFile(tar);
    tarData[Math.floor(tarData.length / 2)] ^= 0x40;
    await fs.writeFile(tar, tarData);
    expect((await verify([tar])).message).toMatch(/SHA-256 mismatch: the file hashes to [0-9a-f]{64}, .*flipped\.tar\.sha256 says/);
    const header = await copy(archives.tar, 'header.tar', false);
    const headerData = await fs.readFile(header);
    headerData[3] ^= 0x01; // the first header's name: its checksum no longer fits
    await fs.writeFile(header, headerData);
    expect((await verify([header, '--no-checksum'])).message).toMatch(/Invalid tar header.*after \d+ bytes of the archive/);
  });

  it.each(['tar', 'tgz', 'tzst'] as const)('fails a cut %s archive, saying where it ends', async (format) => {
    const cut = await copy(archives[format], `cut-${format}`);
    const data = await fs.readFile(cut);
    await fs.writeFile(cut, data.subarray(0, Math.floor(data.length * 0.6)));
    const { code, message } = await verify([cut]);
    expect(code).toBe(1);
    expect(message).toMatch(/(damaged or cut|cut): .*after \d+ bytes of the archive/);
  });

  it('fails a block without meta.json, naming it', async () => {
    let victim = '';
    const file = await repacked('no-meta.tar', async (dir, blocks) => {
      victim = blocks[0];
      await fs.rm(path.join(dir, victim, 'meta.json'));
    });
    const { code, message } = await verify([file, '--no-checksum']);
    expect(code).toBe(1);
    expect(message).toContain(`block ${victim} is incomplete: no meta.json`);
  });

  it('fails a missing, unreadable or wrong .sha256; --no-checksum checks the rest', async () => {
    const file = await copy(archives.tgz, 'sums.tar.gz', false);
    expect(await verify([file])).toMatchObject({ code: 1, message: expect.stringMatching(/sums\.tar\.gz\.sha256 is missing.*--no-checksum/) });
    expect((await verify([file, '--no-checksum'])).json).toMatchObject({ checksum: 'not-checked' });
    await fs.writeFile(`${file}.sha256`, 'not a checksum\n');
    expect((await verify([file])).message).toMatch(/holds no SHA-256 in sha256sum's format/);
    await fs.writeFile(`${file}.sha256`, `${'a'.repeat(64)}  sums.tar.gz\n`);
    expect((await verify([file])).message).toMatch(/SHA-256 mismatch/);
  });

  it('--deep opens every block with promtool, and fails a block whose chunks are damaged', async () => {
    const good = await verify([archives.tzst, '--deep']);
    expect(good.code, good.message).toBe(0);
    expect(good.json.blocks.every((b: { analyzed: boolean }) => b.analyzed)).toBe(true);
    let victim = '';
    const damaged = await repacked('damaged-chunk.tar', async (dir, blocks) => {
      victim = blocks[0];
      await fs.truncate(path.join(dir, victim, 'chunks', '000001'), 100);
    });
    expect((await verify([damaged, '--no-checksum'])).code).toBe(0);
    const deep = await verify([damaged, '--no-checksum', '--deep']);
    expect(deep.code).toBe(1);
    expect(deep.message).toMatch(new RegExp(`promtool tsdb analyze found block ${victim} damaged`));
    expect((await fs.readdir(os.tmpdir())).filter((n) => n.startsWith('prombackup-verify-'))).toEqual([]);
  });

  it('--deep interrupted by SIGTERM removes its scratch folder and exits 143', async () => {
    // One block with a 300 MB chunk segment (sparse on disk, full in the tar), so that extracting it takes a while.
    const source = await fs.mkdtemp(path.join(work, 'big-'));
    const ulid = '01HBBBBBBBBBBBBBBBBBBBBBBB';
    await fs.mkdir(path.join(source, ulid, 'chunks'), { recursive: true });
    await fs.writeFile(path.join(source, ulid, 'meta.json'), JSON.stringify({ ulid, minTime: 0, maxTime: 1000, version: 1 }));
    await fs.writeFile(path.join(source, ulid, 'index'), 'index');
    await fs.writeFile(path.join(source, ulid, 'chunks', '000001'), '');
    await fs.truncate(path.join(source, ulid, 'chunks', '000001'), 300 * 1024 * 1024);
    const archive = path.join(work, 'big.tar');
    execFileSync('tar', ['-cf', archive, '-C', source, ulid]);
    await fs.rm(source, { recursive: true });
    const tmp = await fs.mkdtemp(path.join(work, 'scratch-'));
    const child = spawn(process.execPath, [CLI_BIN, 'verify', archive, '--no-checksum', '--deep', '--tmp-dir', tmp], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    let sawScratch = false;
    while (child.exitCode === null) {
      if ((await fs.readdir(tmp)).length > 0) {
        sawScratch = true;
        child.kill('SIGTERM');
        break;
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(sawScratch).toBe(true);
    const code = await exited;
    expect(code, stderr).toBe(143);
    expect(stderr).toMatch(/stopped by SIGTERM while opening blocks with promtool; .* is removed/);
    expect(await fs.readdir(tmp)).toEqual([]);
    await fs.rm(archive);
  });

  it('bad arguments and flags exit 2: no file, a folder, --deep without promtool, --tmp-dir without --deep', async () => {
    expect(await verify([path.join(work, 'nope.tar')])).toMatchObject({ code: 2, message: expect.stringMatching(/does not exist/) });
    expect(await verify([work])).toMatchObject({ code: 2, message: expect.stringMatching(/is not a file/) });
    expect(await verify([archives.tar, '--deep'], { PATH: '/nonexistent' })).toMatchObject({ code: 2, message: expect.stringMatching(/--deep needs promtool on PATH/) });
    expect(await verify([archives.tar, '--tmp-dir', work])).toMatchObject({ code: 2, message: expect.stringMatching(/--tmp-dir is for --deep/) });
  });
});
