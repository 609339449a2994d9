// Invariants of docker/Dockerfile, checked by parsing it (no Docker engine runs here; hadolint is
// neither in Debian's archive nor installable from npm without downloading a binary).

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SETTINGS } from '../../apps/server/src/config/settings';
import {
  DOCKER_DIR,
  REPO_ROOT,
  effectiveConfig,
  isIgnored,
  loadDockerfile,
  parseDockerfile,
  parseDockerignore,
  parseUser,
  type Stage,
} from './deploy-helpers';

const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
  version: string;
  license: string;
  engines: { node: string };
  workspaces: string[];
  bin: Record<string, string>;
};

const dockerfile = loadDockerfile();
const server = dockerfile.stage('server');
const cli = dockerfile.stage('cli');
const finalStages = [server, cli];
const WORKDIR = '/app';

/** Stages whose files end up in the published images: the final stages and those they build on. */
function imageChain(stage: Stage): Stage[] {
  const chain: Stage[] = [];
  for (let s: Stage | undefined = stage; s; s = s.parent) chain.push(s);
  return chain;
}

function listFiles(dir: string, rel = ''): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
    const r = rel ? `${rel}/${entry.name}` : entry.name;
    if (entry.isDirectory()) {
      if (entry.name === 'node_modules' || entry.name === '.git') continue;
      out.push(...listFiles(dir, r));
    } else {
      out.push(r);
    }
  }
  return out;
}

describe('Dockerfile parser', () => {
  it('follows continuations, comments, JSON and shell forms, and stage inheritance', () => {
    const df = parseDockerfile(
      [
        '# syntax=docker/dockerfile:1',
        'ARG BASE=debian:12',
        'FROM ${BASE} AS one',
        'ENV A=1 \\',
        '    # a comment inside a continuation',
        '    B="two words"',
        'LABEL x.y="${A}"',
        'USER 1000',
        'ENTRYPOINT ["node", "x.js"]',
        'FROM one AS two',
        'WORKDIR /srv',
        'CMD run it',
        'HEALTHCHECK --interval=5s CMD ["true"]',
      ].join('\n'),
    );
    expect(df.stages.map((s) => [s.name, s.base])).toEqual([
      ['one', 'debian:12'],
      ['two', 'one'],
    ]);
    const cfg = effectiveConfig(df.stage('two'));
    expect(cfg.env).toEqual({ A: '1', B: 'two words' });
    expect(cfg.labels).toEqual({ 'x.y': '1' }); // ENV is visible to the instructions after it
    expect(cfg.user).toBe('1000');
    expect(cfg.workdir).toBe('/srv');
    expect(cfg.entrypoint).toEqual(['node', 'x.js']);
    expect(cfg.cmd).toEqual(['/bin/sh', '-c', 'run it']);
    expect(cfg.healthcheck).toEqual({ options: { interval: '5s' }, command: ['true'], execForm: true });
    // ENTRYPOINT without CMD in the same stage resets a CMD inherited from the base image.
    expect(effectiveConfig(df.stage('one')).cmd).toEqual([]);
  });
});

describe('docker/Dockerfile', () => {
  it('has the build, runtime, cli and server stages, the server last (the default target)', () => {
    const names = dockerfile.stages.map((s) => s.name);
    expect(names).toEqual(expect.arrayContaining(['prod-deps', 'build', 'runtime', 'cli', 'server']));
    expect(names[names.length - 1]).toBe('server');
    expect(server.parent?.name).toBe('runtime');
    expect(cli.parent?.name).toBe('runtime');
  });

  it('builds on a Node.js image of the newest line package.json supports, never :latest', () => {
    const engineMajor = Math.max(...[...pkg.engines.node.matchAll(/(\d+)\.\d+\.\d+/g)].map((m) => Number(m[1])));
    const external = dockerfile.stages.filter((s) => !s.parent);
    expect(external.length).toBeGreaterThan(0);
    for (const s of external) {
      expect(s.base, `stage ${s.name}`).toMatch(new RegExp(`^(docker\\.io/)?(library/)?node:${engineMajor}([.-][\\w.-]+)?(@sha256:[0-9a-f]{64})?$`));
      expect(s.base).not.toMatch(/:latest\b/);
    }
  });

  it('runs the final images as a numeric non-root user (Kubernetes runAsNonRoot can only verify a number)', () => {
    for (const s of finalStages) {
      const user = effectiveConfig(s).user;
      expect(user, `stage ${s.name} sets USER`).toBeDefined();
      const parsed = parseUser(user!);
      expect(parsed.uid, `stage ${s.name}: USER ${user} is numeric`).toBeTypeOf('number');
      expect(parsed.uid).not.toBe(0);
      if (parsed.group !== undefined) expect(parsed.gid).not.toBe(0);
    }
  });

  it('starts prombackup-server from the WORKDIR copy of the package.json bin, through its #! line, in exec form', () => {
    const cfg = effectiveConfig(server);
    expect(cfg.workdir).toBe(WORKDIR);
    expect(cfg.entrypoint).toEqual([path.posix.join(WORKDIR, pkg.bin['prombackup-server'])]);
    expect(server.own.entrypoint?.execForm).toBe(true);
    // No CMD: arguments come from `docker run IMAGE -flag ...` or the Kubernetes container args.
    expect(cfg.cmdKnown).toBe(true);
    expect(cfg.cmd).toEqual([]);
  });

  it('starts the CLI from the package.json bin in the cli target', () => {
    const cfg = effectiveConfig(cli);
    expect(cfg.workdir).toBe(WORKDIR);
    expect(cfg.entrypoint).toEqual(['node', path.posix.join(WORKDIR, pkg.bin.prombackup)]);
    expect(cli.own.entrypoint?.execForm).toBe(true);
  });

  it('exposes exactly the port of the default listen address', () => {
    const listen = SETTINGS.find((s) => s.flag === 'listen_address')!;
    const defaultPort = /:(\d+)$/.exec(listen.default)![1];
    expect(effectiveConfig(server).expose).toEqual([defaultPort]);
  });

  it('has an exec-form health check whose script is copied into the image', () => {
    const hc = effectiveConfig(server).healthcheck;
    expect(hc?.execForm).toBe(true);
    expect(hc?.command?.[0]).toBe('node');
    const script = hc!.command![1];
    expect(script.startsWith(`${WORKDIR}/`)).toBe(true);
    const repoFile = path.join(REPO_ROOT, path.posix.relative(WORKDIR, script));
    expect(fs.existsSync(repoFile), `${repoFile} exists`).toBe(true);
    const copied = imageChain(server)
      .flatMap((s) => s.own.copies)
      .some((c) => !c.from && c.sources.includes(path.posix.relative(WORKDIR, script)) && path.posix.resolve(WORKDIR, c.dest) === script);
    expect(copied, `${script} is COPY'd from the build context`).toBe(true);
    for (const key of ['interval', 'timeout', 'retries']) expect(hc!.options).toHaveProperty(key);
  });

  it('carries the OCI labels, with license and version from package.json', () => {
    for (const s of finalStages) {
      const labels = effectiveConfig(s).labels;
      for (const key of ['title', 'description', 'version', 'revision', 'created', 'source', 'licenses', 'base.name']) {
        expect(labels, `stage ${s.name}`).toHaveProperty(`org.opencontainers.image.${key}`);
      }
      expect(labels['org.opencontainers.image.licenses']).toBe(pkg.license);
      expect(labels['org.opencontainers.image.version']).toBe(pkg.version);
      expect(labels['org.opencontainers.image.base.name']).toBe(dockerfile.stages[0].base);
    }
    expect(effectiveConfig(server).labels['org.opencontainers.image.title']).toBe('prombackup-server');
    expect(effectiveConfig(cli).labels['org.opencontainers.image.title']).toBe('prombackup');
  });

  it('ships production dependencies only, built in another stage: the runtime stages run nothing', () => {
    for (const s of finalStages) {
      for (const st of imageChain(s)) {
        expect(st.own.runs, `stage ${st.name} has no RUN (no compilers, package installs or downloads)`).toEqual([]);
      }
    }
    const runtime = dockerfile.stage('runtime');
    const nodeModules = runtime.own.copies.find((c) => c.sources.some((src) => /(^|\/)node_modules\/?$/.test(src)));
    expect(nodeModules?.from, 'node_modules comes from a build stage').toBeDefined();
    const depsStage = dockerfile.stage(nodeModules!.from!);
    expect(depsStage.own.runs.some((r) => /\bnpm ci\b/.test(r) && /--omit=dev\b/.test(r))).toBe(true);
    // The compiled output comes from the stage that runs the build.
    const built = runtime.own.copies.filter((c) => c.from && c !== nodeModules).map((c) => dockerfile.stage(c.from!));
    expect(built.some((st) => st.own.runs.some((r) => /\bnpm run build\b/.test(r)))).toBe(true);
  });

  it('copies every workspace manifest before npm ci (npm ci needs them all)', () => {
    const copied = dockerfile.stages.flatMap((s) => s.own.copies.filter((c) => !c.from).flatMap((c) => c.sources));
    for (const ws of pkg.workspaces) expect(copied, `workspace ${ws}`).toContain(`${ws}/package.json`);
    expect(copied).toEqual(expect.arrayContaining(['package.json', 'package-lock.json']));
  });

  it('sets only environment variables that something in the image reads', () => {
    const known = new Set<string>(SETTINGS.map((s) => s.env));
    for (const s of finalStages) {
      for (const name of Object.keys(effectiveConfig(s).env)) {
        if (name.startsWith('PROMBACKUP_')) expect(known.has(name) || name === 'PROMBACKUP_ENDPOINT', name).toBe(true);
        else expect(['NODE_ENV', 'HOME', 'NODE_OPTIONS', 'TZ']).toContain(name);
      }
    }
  });

  it('uses COPY rather than ADD', () => {
    const adds = dockerfile.stages.flatMap((s) => s.instructions.filter((i) => i.keyword === 'ADD'));
    expect(adds).toEqual([]);
  });
});

describe('.dockerignore', () => {
  const patterns = parseDockerignore(fs.readFileSync(path.join(REPO_ROOT, '.dockerignore'), 'utf8'));

  it('matches like Docker does', () => {
    const p = parseDockerignore('*\n!apps/\n**/node_modules\n**/*.spec.ts\n');
    expect(isIgnored(p, 'README.md')).toBe(true);
    expect(isIgnored(p, 'apps/server/src/main.ts')).toBe(false);
    expect(isIgnored(p, 'apps/server/node_modules/x/index.js')).toBe(true);
    expect(isIgnored(p, 'node_modules/x/index.js')).toBe(true);
    expect(isIgnored(p, 'apps/server/src/a.spec.ts')).toBe(true);
  });

  it('sends every file the Dockerfile copies from the build context', () => {
    const contextCopies = dockerfile.stages.flatMap((s) => s.own.copies.filter((c) => !c.from));
    expect(contextCopies.length).toBeGreaterThan(0);
    for (const c of contextCopies) {
      for (const src of c.sources) {
        const matches = src.includes('*')
          ? fs.readdirSync(REPO_ROOT).filter((f) => new RegExp(`^${src.replace(/[.]/g, '\\.').replace(/\*/g, '[^/]*')}$`).test(f))
          : [src];
        expect(matches.length, `COPY ${src} (line ${c.line}) matches something`).toBeGreaterThan(0);
        for (const m of matches) {
          const abs = path.join(REPO_ROOT, m);
          expect(fs.existsSync(abs), `COPY source ${m} (line ${c.line}) exists`).toBe(true);
          const files = fs.statSync(abs).isDirectory() ? listFiles(abs).map((f) => `${m}/${f}`) : [m];
          const sent = files.filter((f) => !isIgnored(patterns, f));
          expect(sent.length, `COPY ${m} (line ${c.line}) is not emptied by .dockerignore`).toBeGreaterThan(0);
          if (!fs.statSync(abs).isDirectory()) expect(isIgnored(patterns, m), `${m} is in the build context`).toBe(false);
        }
      }
    }
  });

  it('sends the TypeScript sources and package manifests of every workspace', () => {
    for (const ws of pkg.workspaces) {
      expect(isIgnored(patterns, `${ws}/package.json`), `${ws}/package.json`).toBe(false);
      expect(isIgnored(patterns, `${ws}/src/index.ts`), `${ws}/src/index.ts`).toBe(false);
    }
  });

  it('keeps local installs, build output, tests and git history out of the context', () => {
    for (const p of [
      'node_modules/typescript/package.json',
      'apps/server/node_modules/x.js',
      'dist/apps/server/src/main.js',
      'apps/server/dist/main.js',
      '.git/HEAD',
      'test/deploy/dockerfile.test.ts',
      'libs/contract/src/contract.spec.ts',
      'docker/k8s/statefulset.yaml',
    ]) {
      expect(isIgnored(patterns, p), p).toBe(true);
    }
  });
});

describe('docker/ files', () => {
  it('has a README next to the Dockerfile', () => {
    expect(fs.existsSync(path.join(DOCKER_DIR, 'README.md'))).toBe(true);
  });
});
