// Runs prombackup-server exactly as the image and the Kubernetes manifests start it, against a
// real Prometheus, and then the backup CronJob's command against that server.
//
// No container runtime runs here, so the test reproduces what one would do:
//   argv = container.command ?? image ENTRYPOINT, then container.args ?? image CMD
//          (Kubernetes' rule), with $(VAR) expanded from the container's environment;
//   env  = the image's ENV, then the container's env;
//   the image's WORKDIR /app is the repository (the Dockerfile copies the built repository there),
//   `node` is this Node.js.
// Only what differs between a pod and this machine is substituted, and each substitution must be
// used: the data volume's mount path becomes the test Prometheus' data folder, the in-pod
// Prometheus URL becomes the test Prometheus' URL, the listen port becomes a free port, and the
// CronJob's volumes become temporary folders and the Service URL the server's address; the token
// Secret (a file for the server, a variable for the job) becomes one token made here.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCommandLine } from '../../apps/server/src/config/settings';
import { freePort, startPrometheus, type PrometheusInstance } from '../support/prometheus';
import {
  DOCKER_DIR,
  REPO_ROOT,
  effectiveConfig,
  envRecord,
  expandKubernetesVars,
  findOnPath,
  imageName,
  loadDockerfile,
  locatePath,
  renderKustomization,
  secretPlaceholder,
  workloadOf,
  type Container,
  type ImageConfig,
} from './deploy-helpers';

const dockerfile = loadDockerfile();
const serverImage = effectiveConfig(dockerfile.stage('server'));
const cliImage = effectiveConfig(dockerfile.stage('cli'));
const WORKDIR = serverImage.workdir ?? '/';

const base = renderKustomization(path.join(DOCKER_DIR, 'k8s')).map((l) => l.doc);
const withBackups = renderKustomization(path.join(DOCKER_DIR, 'examples', 'scheduled-backups')).map((l) => l.doc);
const sidecar = workloadOf(base.find((o) => o.kind === 'StatefulSet')!)!.podSpec.containers.find(
  (c) => imageName(c.image) === 'prombackup-server',
)!;
/** The token Secret's content, for the server's file and the job's variable alike. */
const TOKEN = 'entrypoint-test-token-0123456789';
const authorized = { Authorization: `Bearer ${TOKEN}` };
const cronContainer = workloadOf(withBackups.find((o) => o.kind === 'CronJob')!)!.podSpec.containers.find(
  (c) => imageName(c.image) === 'prombackup',
)!;

/** A path in the image: under WORKDIR it is the same path in the repository. */
function imagePathToRepo(p: string): string {
  const rel = path.posix.relative(WORKDIR, p);
  if (rel.startsWith('..') || path.posix.isAbsolute(rel)) return p;
  return path.join(REPO_ROOT, rel);
}

/** One value replaced on its way from the pod to this machine; counts its uses. */
interface Substitution {
  what: string;
  apply(value: string): string | undefined;
  used: number;
}

function substitute(value: string, subs: Substitution[]): string {
  for (const s of subs) {
    const out = s.apply(value);
    if (out !== undefined) {
      s.used++;
      return out;
    }
  }
  return value;
}

/** A path inside the container -> the same path under a folder on this machine. */
function mountSubstitution(mountPath: string, hostDir: string): Substitution {
  const mp = mountPath.replace(/\/+$/, '');
  return {
    what: `mount ${mp} -> ${hostDir}`,
    used: 0,
    apply: (v) => (v === mp || v.startsWith(mp + '/') ? hostDir + v.slice(mp.length) : undefined),
  };
}

function exactSubstitution(what: string, from: string, to: string): Substitution {
  return { what, used: 0, apply: (v) => (v === from ? to : undefined) };
}

/** argv and environment of a container as Kubernetes would start it from this image. */
function containerProcess(image: ImageConfig, c: Container): { argv: string[]; env: Record<string, string> } {
  const env: Record<string, string> = { ...image.env, ...envRecord(c) };
  const entry = c.command ?? image.entrypoint ?? [];
  const rest = c.command ? (c.args ?? []) : (c.args ?? image.cmd ?? []);
  const argv = [...entry, ...rest].map((a) => expandKubernetesVars(a, env));
  return { argv, env };
}

function toHostArgv(argv: string[]): string[] {
  const [cmd, ...args] = argv;
  return [cmd === 'node' ? process.execPath : imagePathToRepo(cmd), ...args.map(imagePathToRepo)];
}

interface Running {
  child: ChildProcess;
  /** The program's own pid: the child of `unshare` when it runs as PID 1 of its own namespace. */
  pid: () => number;
  asPid1: boolean;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * In a container the entrypoint is PID 1 of its PID namespace, and the kernel delivers SIGTERM
 * (what `docker stop` and the kubelet send) to PID 1 only if it installed a handler. As root,
 * `unshare --pid --fork` reproduces that; elsewhere the program runs as an ordinary process.
 */
const UNSHARE = (() => {
  const unshare = findOnPath('unshare');
  if (!unshare) return undefined;
  const probe = spawnSync(unshare, ['--pid', '--fork', '--kill-child', 'true'], { stdio: 'ignore' });
  return probe.status === 0 ? unshare : undefined;
})();

function run(argv: string[], env: Record<string, string>, opts: { asPid1?: boolean } = {}): Running {
  const asPid1 = opts.asPid1 === true && UNSHARE !== undefined;
  const full = asPid1 ? [UNSHARE!, '--pid', '--fork', '--kill-child', ...argv] : argv;
  const child = spawn(full[0], full.slice(1), { cwd: imagePathToRepo(WORKDIR), env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal }));
    child.on('error', () => resolve({ code: -1, signal: null }));
  });
  const pid = () => {
    if (!asPid1) return child.pid!;
    const children = fs.readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(/\s+/);
    return Number(children[0]);
  };
  return { child, pid, asPid1, output: () => out.slice(-4000), exited };
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs: number, proc?: Running): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void proc?.exited.then(() => (exited = true));
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (exited) throw new Error(`${what}: the process exited early:\n${proc!.output()}`);
    if (Date.now() > deadline) throw new Error(`${what}: timed out${proc ? `\n${proc.output()}` : ''}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('prombackup-server started as the image and the sidecar manifest start it', () => {
  let prom: PrometheusInstance;
  let server: Running;
  let serverEnv: Record<string, string>;
  let port: number;
  const tmpDirs: string[] = [];

  beforeAll(async () => {
    prom = await startPrometheus();
    port = await freePort();

    // What the manifest configures, read by the server's own parser.
    const pod = containerProcess(serverImage, sidecar);
    const tokenDir = fs.mkdtempSync(path.join(os.tmpdir(), 'prombackup-token-'));
    tmpDirs.push(tokenDir);
    fs.writeFileSync(path.join(tokenDir, 'token'), `${TOKEN}\n`);
    const tokenFile = pod.env.PROMBACKUP_SERVER_AUTH_TOKEN_FILE;
    expect(tokenFile, 'the sidecar reads a token file').toBeTypeOf('string');
    const tokenSub = exactSubstitution('token file', tokenFile, path.join(tokenDir, 'token'));
    const parsed = parseCommandLine(pod.argv.slice(2), { ...pod.env, PROMBACKUP_SERVER_AUTH_TOKEN_FILE: tokenSub.apply(tokenFile)! });
    if (parsed.kind !== 'run') throw new Error('the sidecar arguments do not start the server');
    const dataMount = locatePath(sidecar, parsed.settings.snapshotDir)!;
    const listenValue = pod.env.PROMBACKUP_SERVER_LISTEN_ADDRESS;
    expect(listenValue, 'the sidecar sets PROMBACKUP_SERVER_LISTEN_ADDRESS').toBeTypeOf('string');

    const subs = [
      mountSubstitution(dataMount.mountPath, prom.dataDir),
      exactSubstitution('Prometheus URL', parsed.settings.prometheusEndpoint, prom.url),
      exactSubstitution('listen address', listenValue, listenValue.replace(/:\d+$/, `:${port}`)),
      tokenSub,
    ];
    const argv = toHostArgv(pod.argv.map((a) => substitute(a, subs)));
    serverEnv = Object.fromEntries(Object.entries(pod.env).map(([k, v]) => [k, substitute(v, subs)]));
    for (const s of subs) expect(s.used, `substitution used: ${s.what}`).toBeGreaterThan(0);
    // The snapshot folder the manifest names is the one this Prometheus writes snapshots into.
    expect(path.resolve(serverEnv.PROMBACKUP_SERVER_SNAPSHOT_DIR)).toBe(path.resolve(prom.snapshotDir));

    server = run(argv, { ...serverEnv, PATH: process.env.PATH ?? '/usr/bin:/bin' }, { asPid1: true });
    await waitFor(
      'GET /healthz',
      async () => ((await fetch(`http://127.0.0.1:${port}/healthz`)).status === 200 ? true : undefined),
      30_000,
      server,
    );
  }, 120_000);

  afterAll(async () => {
    if (server && server.child.exitCode === null && server.child.signalCode === null) {
      server.child.kill('SIGKILL');
      await server.exited;
    }
    await prom?.stop();
    for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
  });

  it('answers /healthz and /readyz with 200', async () => {
    const live = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(live.status).toBe(200);
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    expect(ready.status, await ready.clone().text()).toBe(200);
  });

  it('passes the image HEALTHCHECK command', async () => {
    const hc = serverImage.healthcheck!.command!;
    const check = run(toHostArgv(hc), { ...serverEnv, PATH: process.env.PATH ?? '/usr/bin:/bin' });
    expect(await check.exited, check.output()).toEqual({ code: 0, signal: null });
    const wrongPort = await freePort();
    const failing = run(toHostArgv(hc), { ...serverEnv, PROMBACKUP_SERVER_LISTEN_ADDRESS: `:${wrongPort}` });
    expect((await failing.exited).code).toBe(1);
  });

  it('takes a snapshot: POST /api/snapshot answers 303 to the download', async () => {
    const refused = await fetch(`http://127.0.0.1:${port}/api/snapshot`, { method: 'POST', redirect: 'manual' });
    expect(refused.status, 'the token is required').toBe(401);
    const res = await fetch(`http://127.0.0.1:${port}/api/snapshot`, { method: 'POST', redirect: 'manual', headers: authorized });
    expect(res.status, server.output()).toBe(303);
    const body = (await res.json()) as { name: string };
    expect(body.name).toMatch(/^[A-Za-z0-9]+-[A-Za-z0-9]+$/);
    expect(res.headers.get('location')).toBe(`./download?name=${body.name}`);
    expect(fs.statSync(path.join(prom.snapshotDir, body.name)).isDirectory()).toBe(true);
  });

  it('serves /metrics for the ServiceMonitor and the scrape config', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type') ?? '').toMatch(/^text\/plain/);
  });

  it('runs the backup CronJob command: a verified, dated archive in the claim, old ones removed', async () => {
    const job = containerProcess(cliImage, cronContainer);
    const subs: Substitution[] = [];
    const mounts: Record<string, string> = {};
    for (const m of cronContainer.volumeMounts ?? []) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), `prombackup-cron-${m.name}-`));
      tmpDirs.push(dir);
      mounts[m.mountPath] = dir;
    }
    const backups = Object.entries(mounts).find(([mp]) => mp !== '/tmp')!;
    const [backupMount, backupDir] = backups;

    // In the script, paths are words inside a shell command: substitute them in the text, in one
    // pass (a replacement must not be rewritten again) and only at the start of a word.
    const rewriteScript = (text: string): string => {
      const table: [string, string][] = [[`${WORKDIR}/`, `${REPO_ROOT}/`], ...Object.entries(mounts)];
      table.sort((a, b) => b[0].length - a[0].length);
      const escape = (x: string) => x.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
      const alternatives = table.map(([from]) => escape(from) + (from.endsWith('/') ? '' : `(?=[/"'\\s]|$)`));
      const re = new RegExp(`(^|[\\s"'=])(${alternatives.join('|')})`, 'gm');
      return text.replace(re, (_m, lead: string, from: string) => lead + table.find(([f]) => f === from)![1]);
    };
    const endpoint = job.env.PROMBACKUP_ENDPOINT;
    subs.push(exactSubstitution('Service URL', endpoint, `http://127.0.0.1:${port}`));
    subs.push(exactSubstitution('token Secret', secretPlaceholder('prombackup-token', 'token'), TOKEN));
    for (const [mp, dir] of Object.entries(mounts)) subs.push(mountSubstitution(mp, dir));
    const env = Object.fromEntries(Object.entries(job.env).map(([k, v]) => [k, substitute(v, subs)]));
    expect(subs[0].used, 'PROMBACKUP_ENDPOINT substituted').toBe(1);
    expect(subs[1].used, 'PROMBACKUP_TOKEN from the Secret the server reads').toBe(1);
    expect(job.argv.slice(0, 2)).toEqual(['/bin/sh', '-c']);
    const script = rewriteScript(job.argv[2]);
    expect(script).toContain(`${REPO_ROOT}/${path.posix.relative(WORKDIR, cliImage.entrypoint![1])} create`);
    expect(script).toContain(backupDir);

    // An archive older than KEEP_DAYS and a recent one already in the claim.
    const keepDays = Number(env.KEEP_DAYS);
    expect(keepDays).toBeGreaterThan(0);
    const old = path.join(backupDir, 'prometheus-20000101T000000Z.tar.zst');
    const recent = path.join(backupDir, 'prometheus-20000102T000000Z.tar.zst');
    fs.writeFileSync(old, 'old');
    fs.writeFileSync(recent, 'recent');
    const past = (days: number) => new Date(Date.now() - days * 86_400_000);
    fs.utimesSync(old, past(keepDays + 2), past(keepDays + 2));
    // Its checksum file goes with it.
    fs.writeFileSync(`${old}.sha256`, 'old');
    fs.utimesSync(`${old}.sha256`, past(keepDays + 2), past(keepDays + 2));
    fs.utimesSync(recent, past(1), past(1));

    const cron = run(['/bin/sh', '-c', script], { ...env, PATH: process.env.PATH ?? '/usr/bin:/bin' });
    expect(await cron.exited, cron.output()).toEqual({ code: 0, signal: null });

    const files = fs.readdirSync(backupDir).sort();
    const made = files.filter((f) => f !== path.basename(recent));
    expect(files, cron.output()).toContain(path.basename(recent));
    expect(made, `only the new archive and its checksum beside the recent one (${backupMount})`).toHaveLength(2);
    expect(made[0]).toMatch(/^prometheus-\d{8}T\d{6}Z\.tar\.zst$/);
    expect(made[1]).toBe(`${made[0]}.sha256`);
    expect(spawnSync('sha256sum', ['-c', made[1]], { cwd: backupDir }).status, 'sha256sum -c checks the archive').toBe(0);
    const head = Buffer.alloc(4);
    const fd = fs.openSync(path.join(backupDir, made[0]), 'r');
    fs.readSync(fd, head, 0, 4, 0);
    fs.closeSync(fd);
    expect(head.toString('hex'), 'zstd frame magic').toBe('28b52ffd');
  }, 120_000);

  it('stops on SIGTERM within the grace period, also as PID 1 (how a pod or `docker stop` ends it)', async () => {
    process.kill(server.pid(), 'SIGTERM');
    const result = await Promise.race([
      server.exited,
      new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 15_000)),
    ]);
    expect(result, `no exit 15 s after SIGTERM${server.asPid1 ? ' as PID 1' : ''}:\n${server.output()}`).not.toBe('timeout');
    if (server.asPid1) {
      // unshare exits with its child's status: a clean exit, not a kill.
      expect(result).toEqual({ code: 0, signal: null });
    } else {
      // Nest closes the app, then re-raises the signal.
      expect([JSON.stringify({ code: 0, signal: null }), JSON.stringify({ code: null, signal: 'SIGTERM' })]).toContain(JSON.stringify(result));
    }
  }, 30_000);
});

/** As root: a process as PID 1 of its own PID namespace with its own /proc, as in a container. */
const NSENTER = UNSHARE && findOnPath('nsenter');

describe.runIf(NSENTER && process.getuid?.() === 0)('the image HEALTHCHECK beside the server, as Docker runs it', () => {
  it('asks the listen address given as a flag, which wins over the variable as in the server', async () => {
    const port = await freePort();
    const otherPort = await freePort();
    const snapshotDir = fs.mkdtempSync(path.join(os.tmpdir(), 'prombackup-hc-'));
    // The image's environment names one port, the container's arguments another: the server
    // listens on the argument's, so the health check must ask there.
    const env = { ...serverImage.env, PROMBACKUP_SERVER_LISTEN_ADDRESS: `:${otherPort}`, PATH: process.env.PATH ?? '/usr/bin:/bin' };
    const argv = [
      ...toHostArgv(serverImage.entrypoint!),
      ...['-listen_address', `127.0.0.1:${port}`, '-snapshot_dir', snapshotDir],
    ];
    const child = spawn(UNSHARE!, ['--pid', '--fork', '--kill-child', '--mount-proc', ...argv], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    try {
      await waitFor('GET /healthz', async () => ((await fetch(`http://127.0.0.1:${port}/healthz`)).status === 200 ? true : undefined), 30_000);
      const serverPid = fs.readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(/\s+/)[0];
      const healthcheck = (extraEnv: Record<string, string>) =>
        spawnSync(NSENTER!, ['--target', serverPid, '--pid', '--mount', '--', ...toHostArgv(serverImage.healthcheck!.command!)], {
          env: { ...env, ...extraEnv },
          encoding: 'utf8',
        });
      const healthy = healthcheck({});
      expect(healthy.status, `${healthy.stderr}\nserver: ${out}`).toBe(0);
      // Outside the server's namespace only the variable is left, and it names the wrong port.
      const outside = spawnSync(toHostArgv(serverImage.healthcheck!.command!)[0], toHostArgv(serverImage.healthcheck!.command!).slice(1), {
        env,
        encoding: 'utf8',
      });
      expect(outside.status).toBe(1);
      expect(outside.stderr).toContain(`:${otherPort}/healthz`);
    } finally {
      child.kill('SIGKILL');
      fs.rmSync(snapshotDir, { recursive: true, force: true });
    }
  });
});
