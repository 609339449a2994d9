// Helpers for the deployment tests (test/deploy/*.test.ts): a small Dockerfile parser, a
// .dockerignore matcher, a kustomize renderer for the features docker/ uses, and validation of
// Kubernetes objects against the API schemas shipped by the kubernetes-models packages.
//
// No Docker engine or Kubernetes cluster runs here; these helpers let the tests check what can be
// checked without one, and reproduce how the image and the manifests start the server.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import * as coreV1 from 'kubernetes-models/v1';
import * as appsV1 from 'kubernetes-models/apps/v1';
import * as batchV1 from 'kubernetes-models/batch/v1';
import * as networkingV1 from 'kubernetes-models/networking.k8s.io/v1';
import * as policyV1 from 'kubernetes-models/policy/v1';
import * as rbacV1 from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import * as monitoringV1 from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const DOCKER_DIR = path.join(REPO_ROOT, 'docker');
export const DOCKERFILE = path.join(DOCKER_DIR, 'Dockerfile');

// =================================================================================================
// Dockerfile

export interface Instruction {
  /** Upper-case keyword: FROM, RUN, COPY, ... */
  keyword: string;
  /** Everything after the keyword, continuation lines joined. */
  raw: string;
  /** 1-based line of the keyword. */
  line: number;
}

export interface CopyInstruction {
  from?: string;
  sources: string[];
  dest: string;
  line: number;
}

export interface HealthCheck {
  options: Record<string, string>;
  /** Exec form argv, or ['/bin/sh', '-c', cmd] for the shell form; undefined for NONE. */
  command?: string[];
  execForm: boolean;
}

export interface Stage {
  index: number;
  name?: string;
  /** The FROM argument with build args substituted. */
  base: string;
  /** The stage this one builds on, when FROM names an earlier stage. */
  parent?: Stage;
  instructions: Instruction[];
  /** Settings made in this stage only; see effectiveConfig for the inherited view. */
  own: {
    env: Record<string, string>;
    labels: Record<string, string>;
    user?: string;
    workdir?: string;
    entrypoint?: { argv: string[]; execForm: boolean };
    cmd?: { argv: string[]; execForm: boolean };
    expose: string[];
    healthcheck?: HealthCheck;
    args: Record<string, string | undefined>;
    copies: CopyInstruction[];
    runs: string[];
  };
}

export interface Dockerfile {
  globalArgs: Record<string, string | undefined>;
  stages: Stage[];
  stage(name: string): Stage;
}

/** Splits a Dockerfile into instructions: comments dropped, backslash continuations joined. */
export function splitInstructions(text: string): Instruction[] {
  const lines = text.split(/\r?\n/);
  const out: Instruction[] = [];
  let current: { parts: string[]; line: number } | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (/^\s*#/.test(line)) continue; // comments (and parser directives) even inside continuations
    if (current === undefined && line.trim() === '') continue;
    const continues = /\\\s*$/.test(line);
    const body = continues ? line.replace(/\\\s*$/, '') : line;
    if (current === undefined) current = { parts: [], line: i + 1 };
    current.parts.push(body);
    if (!continues) {
      const joined = current.parts.join(' ').trim();
      if (joined !== '') {
        const m = /^(\S+)\s*([\s\S]*)$/.exec(joined)!;
        out.push({ keyword: m[1].toUpperCase(), raw: m[2].trim(), line: current.line });
      }
      current = undefined;
    }
  }
  if (current !== undefined) throw new Error(`Dockerfile ends inside a continued instruction (line ${current.line})`);
  return out;
}

/** Splits shell-like words, honouring single and double quotes and backslash escapes. */
export function shellWords(input: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < input.length; i++) {
    const c = input[i];
    if (quote === "'") {
      if (c === "'") quote = undefined;
      else word += c;
      continue;
    }
    if (quote === '"') {
      if (c === '"') quote = undefined;
      else if (c === '\\' && i + 1 < input.length && '"\\$'.includes(input[i + 1])) word += input[++i];
      else word += c;
      continue;
    }
    if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      continue;
    }
    inWord = true;
    if (c === '"' || c === "'") quote = c;
    else if (c === '\\' && i + 1 < input.length) word += input[++i];
    else word += c;
  }
  if (quote) throw new Error(`unterminated quote in: ${input}`);
  if (inWord) words.push(word);
  return words;
}

/** Replaces $VAR and ${VAR} (also ${VAR:-default}) from vars; unknown variables become ''. */
export function substituteArgs(value: string, vars: Record<string, string | undefined>): string {
  return value.replace(/\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))/g, (_m, braced, def, bare) => {
    const name = (braced ?? bare) as string;
    const v = vars[name];
    return v === undefined || v === '' ? ((def as string | undefined) ?? '') : v;
  });
}

function parseKeyValues(raw: string, vars: Record<string, string | undefined>): Record<string, string> {
  const words = shellWords(raw);
  const out: Record<string, string> = {};
  if (words.length > 0 && !words[0].includes('=')) {
    // Legacy form: ENV KEY value with spaces
    const m = /^(\S+)\s+([\s\S]*)$/.exec(raw.trim());
    if (!m) throw new Error(`cannot parse key/value instruction: ${raw}`);
    out[m[1]] = substituteArgs(shellWords(m[2]).join(' '), vars);
    return out;
  }
  for (const w of words) {
    const eq = w.indexOf('=');
    if (eq <= 0) throw new Error(`expected KEY=value, got ${JSON.stringify(w)} in: ${raw}`);
    out[w.slice(0, eq)] = substituteArgs(w.slice(eq + 1), vars);
  }
  return out;
}

function parseCommand(raw: string): { argv: string[]; execForm: boolean } {
  const trimmed = raw.trim();
  if (trimmed.startsWith('[')) {
    try {
      const parsed: unknown = JSON.parse(trimmed);
      if (Array.isArray(parsed) && parsed.every((x) => typeof x === 'string')) {
        return { argv: parsed as string[], execForm: true };
      }
    } catch {
      // Docker falls back to the shell form when the JSON is not valid.
    }
  }
  return { argv: ['/bin/sh', '-c', trimmed], execForm: false };
}

/** Leading --flag or --flag=value options of COPY/ADD/HEALTHCHECK/FROM. */
function takeFlags(words: string[]): { flags: Record<string, string>; rest: string[] } {
  const flags: Record<string, string> = {};
  let i = 0;
  for (; i < words.length && words[i].startsWith('--'); i++) {
    const m = /^--([^=]+)(?:=(.*))?$/.exec(words[i])!;
    flags[m[1]] = m[2] ?? 'true';
  }
  return { flags, rest: words.slice(i) };
}

export function parseDockerfile(text: string): Dockerfile {
  const instructions = splitInstructions(text);
  const globalArgs: Record<string, string | undefined> = {};
  const stages: Stage[] = [];
  let stage: Stage | undefined;
  for (const ins of instructions) {
    if (ins.keyword === 'ARG' && stage === undefined) {
      const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:=(.*))?$/.exec(ins.raw);
      if (!m) throw new Error(`line ${ins.line}: cannot parse ARG ${ins.raw}`);
      globalArgs[m[1]] = m[2] === undefined ? undefined : shellWords(m[2]).join(' ');
      continue;
    }
    if (ins.keyword === 'FROM') {
      const { rest } = takeFlags(shellWords(ins.raw));
      const base = substituteArgs(rest[0] ?? '', globalArgs);
      const name = rest.length === 3 && rest[1].toUpperCase() === 'AS' ? rest[2] : undefined;
      if (!(rest.length === 1 || name !== undefined)) throw new Error(`line ${ins.line}: cannot parse FROM ${ins.raw}`);
      const parent = stages.find((s) => s.name !== undefined && s.name === base);
      stage = {
        index: stages.length,
        name,
        base,
        parent,
        instructions: [],
        own: { env: {}, labels: {}, expose: [], args: {}, copies: [], runs: [] },
      };
      stages.push(stage);
      continue;
    }
    if (stage === undefined) throw new Error(`line ${ins.line}: ${ins.keyword} before the first FROM`);
    stage.instructions.push(ins);
    const own = stage.own;
    // Variables visible here: ARGs declared in this stage (defaults from the global ARG when the
    // stage redeclares it without a value) and ENV set so far in this stage or its parents.
    const vars = { ...effectiveConfig(stage).env, ...own.args };
    switch (ins.keyword) {
      case 'ARG': {
        const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:=(.*))?$/.exec(ins.raw);
        if (!m) throw new Error(`line ${ins.line}: cannot parse ARG ${ins.raw}`);
        own.args[m[1]] = m[2] === undefined ? globalArgs[m[1]] : shellWords(m[2]).join(' ');
        break;
      }
      case 'ENV':
        Object.assign(own.env, parseKeyValues(ins.raw, vars));
        break;
      case 'LABEL':
        Object.assign(own.labels, parseKeyValues(ins.raw, vars));
        break;
      case 'USER':
        own.user = substituteArgs(ins.raw.trim(), vars);
        break;
      case 'WORKDIR': {
        const dir = substituteArgs(ins.raw.trim(), vars);
        own.workdir = path.posix.resolve(effectiveConfig(stage).workdir ?? '/', dir);
        break;
      }
      case 'ENTRYPOINT':
        own.entrypoint = parseCommand(ins.raw);
        break;
      case 'CMD':
        own.cmd = parseCommand(ins.raw);
        break;
      case 'EXPOSE':
        own.expose.push(...shellWords(ins.raw).map((p) => substituteArgs(p, vars)));
        break;
      case 'HEALTHCHECK': {
        const { flags, rest } = takeFlags(shellWords(ins.raw));
        if (rest[0]?.toUpperCase() === 'NONE') {
          own.healthcheck = { options: flags, execForm: false };
        } else {
          if (rest[0]?.toUpperCase() !== 'CMD') throw new Error(`line ${ins.line}: HEALTHCHECK without CMD`);
          const cmdText = ins.raw.slice(ins.raw.search(/\bCMD\b/) + 3);
          const parsed = parseCommand(cmdText);
          own.healthcheck = { options: flags, command: parsed.argv, execForm: parsed.execForm };
        }
        break;
      }
      case 'COPY':
      case 'ADD': {
        const trimmed = ins.raw.trim();
        const flagsAndRest = takeFlags(shellWords(trimmed));
        let files = flagsAndRest.rest;
        const jsonStart = trimmed.indexOf('[');
        if (files[0]?.startsWith('[') && jsonStart >= 0) files = JSON.parse(trimmed.slice(jsonStart)) as string[];
        if (files.length < 2) throw new Error(`line ${ins.line}: ${ins.keyword} needs a source and a destination`);
        own.copies.push({
          from: flagsAndRest.flags.from,
          sources: files.slice(0, -1).map((s) => substituteArgs(s, vars)),
          dest: substituteArgs(files[files.length - 1], vars),
          line: ins.line,
        });
        break;
      }
      case 'RUN':
        own.runs.push(ins.raw);
        break;
      default:
        break;
    }
  }
  return {
    globalArgs,
    stages,
    stage(name: string): Stage {
      const s = stages.find((x) => x.name === name);
      if (!s) throw new Error(`Dockerfile has no stage named ${name}`);
      return s;
    },
  };
}

export interface ImageConfig {
  env: Record<string, string>;
  labels: Record<string, string>;
  user?: string;
  workdir?: string;
  entrypoint?: string[];
  /** undefined: inherited from an external base image we cannot see. */
  cmd?: string[];
  cmdKnown: boolean;
  expose: string[];
  healthcheck?: HealthCheck;
}

/**
 * The image configuration a stage ends with, following its chain of parent stages. Settings an
 * external base image makes are unknown here, except that (as Docker documents) setting
 * ENTRYPOINT resets a CMD inherited from a base image to empty.
 */
export function effectiveConfig(stage: Stage): ImageConfig {
  const chain: Stage[] = [];
  for (let s: Stage | undefined = stage; s; s = s.parent) chain.unshift(s);
  const cfg: ImageConfig = { env: {}, labels: {}, expose: [], cmdKnown: false };
  for (const s of chain) {
    Object.assign(cfg.env, s.own.env);
    Object.assign(cfg.labels, s.own.labels);
    if (s.own.user !== undefined) cfg.user = s.own.user;
    if (s.own.workdir !== undefined) cfg.workdir = s.own.workdir;
    cfg.expose.push(...s.own.expose);
    if (s.own.healthcheck) cfg.healthcheck = s.own.healthcheck;
    if (s.own.entrypoint) {
      cfg.entrypoint = s.own.entrypoint.argv;
      if (!s.own.cmd) {
        cfg.cmd = [];
        cfg.cmdKnown = true;
      }
    }
    if (s.own.cmd) {
      cfg.cmd = s.own.cmd.argv;
      cfg.cmdKnown = true;
    }
  }
  return cfg;
}

export function loadDockerfile(): Dockerfile {
  return parseDockerfile(fs.readFileSync(DOCKERFILE, 'utf8'));
}

/** "65534:65534" -> { uid: 65534, gid: 65534 }; names are returned as strings. */
export function parseUser(user: string): { user: string; group?: string; uid?: number; gid?: number } {
  const [u, g] = user.split(':');
  return {
    user: u,
    group: g,
    uid: /^\d+$/.test(u) ? Number(u) : undefined,
    gid: g !== undefined && /^\d+$/.test(g) ? Number(g) : undefined,
  };
}

// =================================================================================================
// .dockerignore (the semantics of moby's patternmatcher, which BuildKit also uses)

interface IgnorePattern {
  negate: boolean;
  regex: RegExp;
  text: string;
}

function globToRegExp(pattern: string): RegExp {
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '*') {
      if (pattern[i + 1] === '*') {
        i++;
        if (pattern[i + 1] === '/') {
          i++;
          re += '(?:.*/)?'; // "**/" matches zero or more folders
        } else {
          re += '.*';
        }
      } else {
        re += '[^/]*';
      }
    } else if (c === '?') {
      re += '[^/]';
    } else if (c === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end < 0) throw new Error(`unterminated [ in .dockerignore pattern ${pattern}`);
      let cls = pattern.slice(i + 1, end);
      if (cls.startsWith('^') || cls.startsWith('!')) cls = '^' + cls.slice(1);
      re += `[${cls}]`;
      i = end;
    } else if (c === '\\' && i + 1 < pattern.length) {
      re += pattern[++i].replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    } else {
      re += c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    }
  }
  return new RegExp(re + '$');
}

export function parseDockerignore(text: string): IgnorePattern[] {
  const patterns: IgnorePattern[] = [];
  for (let line of text.split(/\r?\n/)) {
    if (line.startsWith('#')) continue;
    line = line.trim();
    if (line === '') continue;
    let negate = false;
    if (line.startsWith('!')) {
      negate = true;
      line = line.slice(1).trim();
    }
    let cleaned = path.posix.normalize(line).replace(/^\/+/, '').replace(/\/+$/, '');
    if (cleaned === '.') cleaned = '';
    patterns.push({ negate, regex: globToRegExp(cleaned), text: line });
  }
  return patterns;
}

/** Whether the build context leaves out this path (relative to the context, '/' separated). */
export function isIgnored(patterns: IgnorePattern[], relPath: string): boolean {
  const parts = relPath.split('/');
  const candidates = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
  let ignored = false;
  for (const p of patterns) {
    if (candidates.some((c) => p.regex.test(c))) ignored = !p.negate;
  }
  return ignored;
}

// =================================================================================================
// YAML and kustomize

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; [k: string]: unknown };
  [key: string]: unknown;
}

export interface Loaded {
  file: string;
  doc: K8sObject;
}

export function loadYamlFile(file: string): unknown[] {
  const docs = parseAllDocuments(fs.readFileSync(file, 'utf8'));
  const out: unknown[] = [];
  for (const d of docs) {
    if (d.errors.length > 0) throw new Error(`${file}: ${d.errors.map((e) => e.message).join('; ')}`);
    const js: unknown = d.toJS();
    if (js !== null && js !== undefined) out.push(js);
  }
  return out;
}

function asK8sObject(file: string, value: unknown): K8sObject {
  const obj = value as Partial<K8sObject> | null;
  if (
    !obj ||
    typeof obj !== 'object' ||
    typeof obj.apiVersion !== 'string' ||
    typeof obj.kind !== 'string' ||
    typeof obj.metadata?.name !== 'string'
  ) {
    throw new Error(`${file}: a document without apiVersion, kind and metadata.name`);
  }
  return obj as K8sObject;
}

const KUSTOMIZATION_FILES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];
const SUPPORTED_KUSTOMIZE_FIELDS = new Set(['apiVersion', 'kind', 'resources', 'components', 'namespace']);

export function kustomizationFile(dir: string): string {
  const f = KUSTOMIZATION_FILES.map((n) => path.join(dir, n)).find((p) => fs.existsSync(p));
  if (!f) throw new Error(`${dir} has no kustomization.yaml`);
  return f;
}

/**
 * Renders a kustomization the way `kubectl kustomize` does for the fields docker/ uses
 * (resources, components, namespace). Anything else is refused, so a new field cannot be
 * silently ignored by these tests; the k8s test compares the result with kubectl where present.
 */
export function renderKustomization(dir: string, expectKind: 'Kustomization' | 'Component' = 'Kustomization'): Loaded[] {
  const file = kustomizationFile(dir);
  const [k] = loadYamlFile(file) as Record<string, unknown>[];
  if ((k.kind ?? 'Kustomization') !== expectKind) throw new Error(`${file}: expected kind ${expectKind}, found ${String(k.kind)}`);
  const wantApi = expectKind === 'Component' ? 'kustomize.config.k8s.io/v1alpha1' : 'kustomize.config.k8s.io/v1beta1';
  if (k.apiVersion !== wantApi) throw new Error(`${file}: expected apiVersion ${wantApi}, found ${String(k.apiVersion)}`);
  for (const key of Object.keys(k)) {
    if (!SUPPORTED_KUSTOMIZE_FIELDS.has(key)) {
      throw new Error(`${file}: field ${key} is not understood by test/deploy/deploy-helpers.ts renderKustomization`);
    }
  }
  const out: Loaded[] = [];
  for (const res of (k.resources as string[] | undefined) ?? []) {
    const p = path.resolve(dir, res);
    if (fs.statSync(p).isDirectory()) out.push(...renderKustomization(p));
    else out.push(...loadYamlFile(p).map((doc) => ({ file: p, doc: asK8sObject(p, doc) })));
  }
  for (const comp of (k.components as string[] | undefined) ?? []) {
    out.push(...renderKustomization(path.resolve(dir, comp), 'Component'));
  }
  if (typeof k.namespace === 'string') {
    for (const o of out) o.doc.metadata.namespace = k.namespace;
  }
  return out;
}

/** `kubectl kustomize DIR` parsed, or undefined when kubectl is not installed. */
export function kubectlKustomize(dir: string): K8sObject[] | undefined {
  let text: string;
  try {
    text = execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') return undefined;
    throw new Error(`kubectl kustomize ${dir} failed: ${e.stderr ?? e.message}`);
  }
  return parseAllDocuments(text)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((d): d is K8sObject => d !== null);
}

export function objectKey(o: K8sObject): string {
  return `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
}

// =================================================================================================
// Schema validation

type ModelClass = { new (data?: object): { validate(): void }; prototype: { validate(): void } };

const MODELS: Record<string, Record<string, unknown>> = {
  v1: coreV1,
  'apps/v1': appsV1,
  'batch/v1': batchV1,
  'networking.k8s.io/v1': networkingV1,
  'policy/v1': policyV1,
  'rbac.authorization.k8s.io/v1': rbacV1,
  'monitoring.coreos.com/v1': monitoringV1,
};

export function modelFor(apiVersion: string, kind: string): ModelClass | undefined {
  const m = MODELS[apiVersion]?.[kind];
  return typeof m === 'function' ? (m as ModelClass) : undefined;
}

/**
 * Paths of fields that the schema does not define. The kubernetes-models validators are compiled
 * JSON schemas, and the Kubernetes schemas allow unknown fields (the API server would drop them
 * silently, which hides typos such as `readinesProbe`). Running the validator over a proxy that
 * records which properties it reads finds them: a field the validator never looks at is not in
 * the schema. Objects the validator enumerates are maps (labels, resource lists), where any key
 * is allowed.
 */
function unknownFields(Model: ModelClass, obj: object): string[] {
  interface Seen {
    reads: Set<string>;
    enumerated: boolean;
    path: string;
    proxy: object;
  }
  const seen = new Map<object, Seen>();
  const wrap = (value: unknown, p: string): unknown => {
    if (value === null || typeof value !== 'object') return value;
    const known = seen.get(value);
    if (known) return known.proxy;
    const entry: Seen = { reads: new Set(), enumerated: false, path: p, proxy: value };
    entry.proxy = new Proxy(value, {
      get(target, key, receiver) {
        const v: unknown = Reflect.get(target, key, receiver);
        if (typeof key !== 'string') return v;
        entry.reads.add(key);
        return Object.prototype.hasOwnProperty.call(target, key) ? wrap(v, `${p}/${key}`) : v;
      },
      has(target, key) {
        if (typeof key === 'string') entry.reads.add(key);
        return Reflect.has(target, key);
      },
      ownKeys(target) {
        entry.enumerated = true;
        return Reflect.ownKeys(target);
      },
    });
    seen.set(value, entry);
    return entry.proxy;
  };
  Model.prototype.validate.call(wrap(obj, ''));
  const unknown: string[] = [];
  for (const [target, entry] of seen) {
    if (Array.isArray(target) || entry.enumerated) continue;
    for (const key of Object.keys(target)) if (!entry.reads.has(key)) unknown.push(`${entry.path}/${key}`);
  }
  return unknown;
}

/** Problems found validating one object against its API schema; empty when it is valid. */
export function validateObject(obj: K8sObject): string[] {
  const Model = modelFor(obj.apiVersion, obj.kind);
  if (!Model) return [`no schema known for ${obj.apiVersion} ${obj.kind} (add its kubernetes-models module)`];
  try {
    new Model(obj).validate();
  } catch (err) {
    return [(err as Error).message];
  }
  return unknownFields(Model, obj).map((p) => `unknown field ${p}`);
}

// =================================================================================================
// Pods and containers

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: unknown;
}

export interface Probe {
  httpGet?: { path?: string; port: number | string };
  tcpSocket?: { port: number | string };
  exec?: { command: string[] };
  [k: string]: unknown;
}

export interface Container {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  ports?: { name?: string; containerPort: number }[];
  volumeMounts?: { name: string; mountPath: string; subPath?: string; readOnly?: boolean }[];
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
  resources?: { requests?: Record<string, string | number>; limits?: Record<string, string | number> };
  securityContext?: Record<string, unknown> & { capabilities?: { drop?: string[]; add?: string[] } };
}

export interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  volumes?: { name: string; [k: string]: unknown }[];
  securityContext?: Record<string, unknown>;
  [k: string]: unknown;
}

export interface Workload {
  obj: K8sObject;
  podSpec: PodSpec;
  podLabels: Record<string, string>;
  /** Names of volumes the pod gets from volumeClaimTemplates. */
  claimTemplates: string[];
  longRunning: boolean;
}

type Json = Record<string, unknown>;

export function workloadOf(obj: K8sObject): Workload | undefined {
  const spec = obj.spec as Json | undefined;
  if (!spec) return undefined;
  const tpl = (t: unknown) => t as { metadata?: { labels?: Record<string, string> }; spec: PodSpec };
  switch (obj.kind) {
    case 'Deployment':
    case 'StatefulSet':
    case 'DaemonSet': {
      const t = tpl(spec.template);
      const claims = ((spec.volumeClaimTemplates as { metadata: { name: string } }[] | undefined) ?? []).map((c) => c.metadata.name);
      return { obj, podSpec: t.spec, podLabels: t.metadata?.labels ?? {}, claimTemplates: claims, longRunning: true };
    }
    case 'Job': {
      const t = tpl(spec.template);
      return { obj, podSpec: t.spec, podLabels: t.metadata?.labels ?? {}, claimTemplates: [], longRunning: false };
    }
    case 'CronJob': {
      const jobSpec = (spec.jobTemplate as Json).spec as Json;
      const t = tpl(jobSpec.template);
      return { obj, podSpec: t.spec, podLabels: t.metadata?.labels ?? {}, claimTemplates: [], longRunning: false };
    }
    default:
      return undefined;
  }
}

/** Repository name of an image reference without registry path, tag or digest. */
export function imageName(image: string | undefined): string {
  if (!image) return '';
  const noDigest = image.split('@')[0];
  const last = noDigest.split('/').pop()!;
  return last.split(':')[0];
}

export function envRecord(container: Container): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of container.env ?? []) {
    // A Secret's value is unknown here: a placeholder naming it, which tests can check for.
    const secret = (e.valueFrom as { secretKeyRef?: { name: string; key: string } } | undefined)?.secretKeyRef;
    if (secret) {
      out[e.name] = secretPlaceholder(secret.name, secret.key);
      continue;
    }
    if (e.valueFrom !== undefined) throw new Error(`${container.name}: env ${e.name} uses valueFrom, which these tests cannot resolve`);
    // Kubernetes expands $(VAR) in a value from variables defined before it.
    out[e.name] = expandKubernetesVars(e.value ?? '', out);
  }
  return out;
}

/** What envRecord gives for a variable taken from key `key` of Secret `name`. */
export function secretPlaceholder(name: string, key: string): string {
  return `<secret ${name}/${key}>`;
}

/** Kubernetes' $(VAR) expansion in command, args and env values; $$ escapes a $. */
export function expandKubernetesVars(value: string, vars: Record<string, string>): string {
  return value.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (m, name: string | undefined) => {
    if (m === '$$') return '$';
    return name !== undefined && Object.prototype.hasOwnProperty.call(vars, name) ? vars[name] : m;
  });
}

/**
 * Where a path inside a container lives: the volume (and subPath) of the deepest mount holding it,
 * and the rest of the path inside that mount.
 */
export function locatePath(
  container: Container,
  p: string,
): { volume: string; subPath: string; rest: string; mountPath: string } | undefined {
  const norm = path.posix.normalize(p);
  let best: { volume: string; subPath: string; rest: string; mountPath: string } | undefined;
  for (const m of container.volumeMounts ?? []) {
    const mp = path.posix.normalize(m.mountPath).replace(/\/+$/, '') || '/';
    if (norm === mp || norm.startsWith(mp === '/' ? '/' : mp + '/')) {
      if (!best || mp.length > best.mountPath.length) {
        best = { volume: m.name, subPath: m.subPath ?? '', rest: path.posix.relative(mp, norm), mountPath: mp };
      }
    }
  }
  return best;
}

/** CPU or memory quantity in base units (cores, bytes). */
export function parseQuantity(q: string | number): number {
  if (typeof q === 'number') return q;
  const m = /^([0-9.]+)([a-zA-Z]*)$/.exec(q.trim());
  if (!m) throw new Error(`cannot parse quantity ${q}`);
  const n = Number(m[1]);
  const factors: Record<string, number> = {
    '': 1,
    m: 1e-3,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
    Ki: 1024,
    Mi: 1024 ** 2,
    Gi: 1024 ** 3,
    Ti: 1024 ** 4,
  };
  const f = factors[m[2]];
  if (f === undefined) throw new Error(`unknown quantity suffix in ${q}`);
  return n * f;
}

/** Which executable name `which` would find, or undefined. */
export function findOnPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // keep looking
    }
  }
  return undefined;
}
