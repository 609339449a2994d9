// Process bookkeeping and /proc measurements for the benchmark.
//
// Every child is remembered, so Ctrl-C, an error or a normal exit stops whole pipelines (the
// child and its descendants), Prometheus and the server; nothing is killed by name. Children stay
// in the benchmark's session and process group on purpose: with the kernel's autogroup
// scheduling every new session gets its own equal CPU share, which would hand a two-process
// "ours" row (server + client) more CPU than a one-session reference pipeline on a busy machine.

import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const t0 = process.hrtime.bigint();
export const elapsed = () => Number(process.hrtime.bigint() - t0) / 1e9;

export function log(msg) {
  process.stderr.write(`[bench ${fmtSecs(elapsed()).padStart(6)}] ${msg}\n`);
}

export function fmtBytes(n) {
  if (n == null || Number.isNaN(n)) return '-';
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} kB`;
  return `${n} B`;
}

export function fmtSecs(s) {
  if (s == null || Number.isNaN(s)) return '-';
  if (s >= 120) return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
  return `${s.toFixed(s < 10 ? 2 : 1)}s`;
}

export const median = (xs) => {
  const v = xs.filter((x) => x != null && !Number.isNaN(x)).sort((a, b) => a - b);
  if (!v.length) return undefined;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};

// ---------------------------------------------------------------------------------------------
// Children and cleanup

const children = new Map(); // pid -> description
const cleanups = new Set();

export function registerCleanup(fn) {
  cleanups.add(fn);
  return () => cleanups.delete(fn);
}

/** Signals a process and every descendant (collected first, before anything exits). */
function killTree(pid, signal) {
  for (const p of [...descendants(pid).reverse(), pid]) {
    try {
      process.kill(p, signal);
    } catch {
      // already gone
    }
  }
}

/** spawn() a child that is remembered until it exits. */
export function spawnTracked(cmd, args, opts = {}) {
  if (interrupted) throw new Error('interrupted');
  const child = spawn(cmd, args, opts);
  if (child.pid) {
    children.set(child.pid, `${cmd} ${args.join(' ')}`.slice(0, 80));
    child.on('exit', () => children.delete(child.pid));
  }
  return child;
}

/** Stops one tracked child and its descendants: SIGTERM, then SIGKILL after graceMs. */
export async function stopChild(child, graceMs = 5000) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  killTree(child.pid, 'SIGTERM');
  const timer = setTimeout(() => killTree(child.pid, 'SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

function cleanupSync() {
  for (const pid of children.keys()) killTree(pid, 'SIGKILL');
  children.clear();
  for (const fn of [...cleanups]) {
    try {
      fn();
    } catch {
      // best effort
    }
  }
  cleanups.clear();
}

let interrupted = false;
export const isInterrupted = () => interrupted;

export function installSignalHandlers() {
  const onSignal = (sig) => {
    if (interrupted) return;
    interrupted = true;
    process.stderr.write(`\n[bench] ${sig}: stopping everything this benchmark started\n`);
    for (const pid of children.keys()) killTree(pid, 'SIGTERM');
    setTimeout(() => {
      cleanupSync();
      process.exit(130);
    }, 1500).unref();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  process.on('exit', cleanupSync);
}

/** Runs a command to completion; resolves with its exit code and output. */
export function run(cmd, args, opts = {}) {
  return new Promise((resolve) => {
    const child = spawnTracked(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d) => (stdout += d));
    child.stderr?.on('data', (d) => (stderr += d));
    child.on('error', (err) => resolve({ code: 127, stdout, stderr: stderr + String(err) }));
    child.on('close', (code, signal) => resolve({ code: code ?? 128, signal, stdout, stderr }));
  });
}

export function which(cmd) {
  for (const dir of (process.env.PATH || '/usr/bin:/bin').split(':')) {
    try {
      fs.accessSync(`${dir}/${cmd}`, fs.constants.X_OK);
      return `${dir}/${cmd}`;
    } catch {
      // next
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// /proc readers

let clkTck = 100;
try {
  clkTck = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
} catch {
  // keep 100
}

/** utime+stime of a process, in seconds. */
export function procCpu(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / clkTck;
  } catch {
    return undefined;
  }
}

/** { rss, hwm } in bytes. */
export function procMem(pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(s)?.[1]) * 1024;
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch {
    return { rss: undefined, hwm: undefined };
  }
}

/** Resets VmHWM to the current RSS (Linux >= 4.0); false when not allowed. */
export function resetPeakRss(pid) {
  try {
    fs.writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

export function descendants(pid) {
  const out = [];
  const visit = (p) => {
    let tasks = [];
    try {
      tasks = fs.readdirSync(`/proc/${p}/task`);
    } catch {
      return;
    }
    for (const t of tasks) {
      let kids = '';
      try {
        kids = fs.readFileSync(`/proc/${p}/task/${t}/children`, 'utf8');
      } catch {
        continue;
      }
      for (const k of kids.split(' ').filter(Boolean)) {
        out.push(Number(k));
        visit(Number(k));
      }
    }
  };
  visit(pid);
  return out;
}

/** Whole-machine CPU time in seconds: busy (user+nice+system+irq+softirq), steal, and cores. */
export function systemCpu() {
  const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].split(/\s+/).slice(1).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = line;
  return { busy: (user + nice + system + irq + softirq) / clkTck, steal: (steal || 0) / clkTck };
}

export function memAvailable() {
  try {
    const m = /^MemAvailable:\s+(\d+)/m.exec(fs.readFileSync('/proc/meminfo', 'utf8'));
    return Number(m[1]) * 1024;
  } catch {
    return 0;
  }
}

export function loadAvg() {
  try {
    return fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number);
  } catch {
    return [];
  }
}

// ---------------------------------------------------------------------------------------------
// Measuring one shell pipeline

function parseTimes(text) {
  // bash `times`: "0m0.002s 0m0.000s\n0m1.234s 0m0.567s\n" (shell, then children)
  let total = 0;
  for (const m of text.matchAll(/(\d+)m([\d.]+)s/g)) total += Number(m[1]) * 60 + Number(m[2]);
  return total;
}

/**
 * Runs `script` with bash (pipefail) and measures wall time, CPU of every process it started
 * (bash `times` after `wait`, so process substitutions count too), the peak summed RSS of its
 * process tree (sampled every 50 ms), and, when `serverPid` is given, the server's CPU time and
 * peak RSS (VmHWM reset before the run) over the same interval. `cpuOther` is how much CPU the
 * rest of the machine used meanwhile (busy time not accounted for by what we measure).
 */
export function measureShell(script, { serverPid, sampleMs = 50, timeoutMs = 6 * 3600e3 } = {}) {
  return new Promise((resolve) => {
    const peakReset = serverPid ? resetPeakRss(serverPid) : false;
    const serverCpu0 = serverPid ? procCpu(serverPid) : undefined;
    const sys0 = systemCpu();
    const self0 = process.cpuUsage();
    let treePeak = 0;
    let serverPeakSampled = 0;
    const start = process.hrtime.bigint();
    const child = spawnTracked('bash', ['-c', `set -o pipefail\n${script}\nrc=$?\nwait\ntimes >&3\nexit $rc`], {
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let times = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.stdio[3].on('data', (d) => (times += d));
    const sample = () => {
      let sum = 0;
      for (const p of [child.pid, ...descendants(child.pid)]) sum += procMem(p).rss || 0;
      treePeak = Math.max(treePeak, sum);
      if (serverPid) serverPeakSampled = Math.max(serverPeakSampled, procMem(serverPid).rss || 0);
    };
    const timer = setInterval(sample, sampleMs);
    const killer = setTimeout(() => killTree(child.pid, 'SIGKILL'), timeoutMs);
    child.on('close', (code, signal) => {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      clearInterval(timer);
      clearTimeout(killer);
      const sys1 = systemCpu();
      const self = process.cpuUsage(self0);
      const cpuChildren = parseTimes(times);
      const serverCpu = serverPid ? procCpu(serverPid) - serverCpu0 : 0;
      const mem = serverPid ? procMem(serverPid) : {};
      const selfCpu = (self.user + self.system) / 1e6;
      resolve({
        code: code ?? 128,
        signal,
        seconds,
        stdout,
        stderr,
        cpu: cpuChildren + serverCpu,
        cpuClient: cpuChildren,
        cpuServer: serverPid ? serverCpu : undefined,
        treePeakRss: treePeak || undefined,
        serverPeakRss: serverPid ? (peakReset ? Math.max(mem.hwm, serverPeakSampled) : serverPeakSampled) : undefined,
        serverPeakExact: peakReset,
        cpuOther: Math.max(0, sys1.busy - sys0.busy - cpuChildren - serverCpu - selfCpu),
        steal: sys1.steal - sys0.steal,
      });
    });
  });
}

export const shq = (s) => `'${String(s).replace(/'/g, `'\\''`)}'`;

/**
 * How the bench starts the CLI: the Node running the bench, with the V8 flags of run.js's `#!`
 * line, as an installed `prombackup` starts (a bare `node run.js` would leave those flags out).
 */
export function cliCommand(buildDir) {
  const runJs = path.join(buildDir, 'apps/cli/bin/run.js');
  const shebang = fs.readFileSync(runJs, 'utf8').split('\n', 1)[0];
  const flags = shebang.replace(/^#!\/usr\/bin\/env\s+(-S\s+)?node\s*/, '').split(/\s+/).filter((f) => f.startsWith('--'));
  return [shq(process.execPath), ...flags, shq(runJs)].join(' ');
}
