// What a user installs: `npm pack` gives the tarball, `npm install -g ./prombackup-*.tgz` puts
// both commands on PATH, and they take a verified backup from a real Prometheus. The install
// prefix and working folder are outside the checkout, so nothing resolves from its node_modules.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeFolder, readArchive } from './support/archive';
import { REPO_ROOT } from './support/processes';
import { freePort, startPrometheus, type PrometheusInstance } from './support/prometheus';

const work = await fs.mkdtemp(path.join(os.tmpdir(), 'pb-install-'));
const prefix = path.join(work, 'prefix');
const bin = (name: string) => path.join(prefix, 'bin', name);
let tarball: string;
let packed: string[];
let prom: PrometheusInstance | undefined;

beforeAll(() => {
  const out = execFileSync('npm', ['pack', '--json', '--pack-destination', work], { cwd: REPO_ROOT, encoding: 'utf8' });
  const [info] = JSON.parse(out) as { filename: string; files: { path: string }[] }[];
  tarball = path.join(work, info.filename);
  packed = info.files.map((f) => f.path);
  // A machine with only Node: PATH holds node, npm and sh, and no python3, make or C++ compiler,
  // and github.com (zstd-napi's prebuilt binaries) is out of reach here. zstd-napi is optional, so
  // its failed build must not fail the install. The README's command, scripts allowed.
  const onlyNode = path.join(work, 'only-node');
  execFileSync('mkdir', [onlyNode]);
  for (const [name, target] of [['node', process.execPath], ['npm', execFileSync('which', ['npm']).toString().trim()], ['sh', '/bin/sh']]) {
    execFileSync('ln', ['-s', realpathSync(target), path.join(onlyNode, name)]);
  }
  const { PYTHON: _python, ...env } = process.env;
  const args = ['install', '-g', '--allow-scripts=zstd-napi', '--prefix', prefix, '--no-audit', '--no-fund', tarball];
  const install = spawnSync('npm', args, { cwd: work, env: { ...env, PATH: onlyNode }, encoding: 'utf8' });
  if (install.status !== 0) throw new Error(`npm install -g failed on a machine with only Node:\n${install.stderr}`);
}, 300_000);

afterAll(async () => {
  await prom?.stop();
  await fs.rm(work, { recursive: true, force: true });
});

describe('npm pack', () => {
  it('packs what runs, the license, the README and the docs it links to, and no sources, tests or build files', () => {
    expect(packed).toEqual(expect.arrayContaining(['LICENSE', 'README.md', 'package.json', 'apps/server/bin/prombackup-server.js', 'apps/cli/bin/run.js']));
    // The README's reference links lead into docs/: an installed package keeps them working.
    const linked = [...readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8').matchAll(/\]\((docs\/[^)#]+)/g)].map((m) => m[1]);
    expect(linked.length).toBeGreaterThan(0);
    expect(packed).toEqual(expect.arrayContaining(linked));
    expect(packed.some((f) => f.startsWith('node_modules/@prombackup/contract/dist/'))).toBe(true);
    expect(packed.some((f) => f.startsWith('node_modules/@prombackup/client/dist/'))).toBe(true);
    // The client's compiled JS keeps the generated code's folder name: dist/src/ holds no sources.
    const unwanted = packed.filter((f) => /(^|\/)(src|test|scripts|docker|\.ci)\/|\.ts$|\.map$|tsbuildinfo|^\.node\//.test(f.replace('/client/dist/src/', '/client/dist/')));
    expect(unwanted).toEqual([]);
  });
});

describe('npm install -g of the tarball', () => {
  it('installs prombackup and prombackup-server, named after themselves', () => {
    expect(execFileSync(bin('prombackup-server'), ['-version'], { cwd: work }).toString()).toMatch(/^prombackup-server \d+\.\d+\.\d+/);
    const cli = execFileSync(bin('prombackup'), ['--help'], { cwd: work }).toString();
    expect(cli).toMatch(/create\s+Take a snapshot, download it and verify it end to end/);
    // Named after the command, not after the workspace package that holds it (prombackup-cli).
    for (const flag of ['--version', '-version']) {
      expect(execFileSync(bin('prombackup'), [flag], { cwd: work }).toString()).toMatch(/^prombackup\/\d+\.\d+\.\d+ /);
    }
  });

  it('went on without zstd-napi, which has nothing to build it with there', () => {
    expect(existsSync(path.join(prefix, 'lib/node_modules/prombackup/package.json'))).toBe(true);
    expect(existsSync(path.join(prefix, 'lib/node_modules/prombackup/node_modules/zstd-napi'))).toBe(false);
  });

  it('takes a verified backup of a real Prometheus with the installed commands', async () => {
    prom = await startPrometheus();
    const port = await freePort();
    const server = spawn(bin('prombackup-server'), ['-listen_address', `127.0.0.1:${port}`, '-prometheus_endpoint', prom.url, '-snapshot_dir', prom.snapshotDir], {
      cwd: work,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    server.stdout!.on('data', (d) => (log += d));
    server.stderr!.on('data', (d) => (log += d));
    try {
      for (let i = 0; ; i++) {
        const up = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.ok, () => false);
        if (up) break;
        if (i > 150 || server.exitCode !== null) throw new Error(`the installed server did not come up:\n${log}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      const out = path.join(work, 'backups');
      await fs.mkdir(out);
      // --keep-snapshot: the archive is compared with the snapshot folder below.
      const args = ['create', '-server', `http://127.0.0.1:${port}`, '-format', 'tzst', '-output', `${out}/`, '--keep-snapshot'];
      execFileSync(bin('prombackup'), args, { cwd: work, stdio: 'pipe' });
      const [file, checksum] = (await fs.readdir(out)).sort();
      expect(file).toMatch(/\.tar\.zst$/);
      expect(checksum).toBe(`${file}.sha256`);
      const name = file.replace(/\.tar\.zst$/, '');
      const entries = await readArchive(await fs.readFile(path.join(out, file)), 'tzst');
      const expected = await describeFolder(path.join(prom.snapshotDir, name));
      const files = (list: { name: string; sha256?: string }[]) => list.map((e) => [e.name, e.sha256 ?? 'dir']).sort();
      expect(files(entries)).toEqual(files(expected));
      expect(entries.length).toBeGreaterThan(3);
      // Without zstd-napi the server compressed with Node's own zstd, and says so at start.
      expect(log).toMatch(/zstd.{0,5}node:zlib/);
      // The CLI reads tar.zst with Node's zstd from Node 24 on; Node 22's stops after one frame.
      const verify = spawnSync(bin('prombackup'), ['verify', path.join(out, file)], { cwd: work, encoding: 'utf8' });
      if (Number(process.versions.node.split('.')[0]) >= 24) expect(verify.status, verify.stderr).toBe(0);
      else expect(`${verify.status} ${verify.stderr}`).toMatch(/^1 .*needs zstd-napi/s);
      // NODE_ENV=test (set by vitest) must not make oclif look for TypeScript sources and warn.
      expect(verify.stderr).not.toMatch(/Warning/);
    } finally {
      server.kill('SIGTERM');
    }
  }, 120_000);
});
