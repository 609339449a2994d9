// The "sync" group of the benchmark: `prombackup sync DIR` against `create --format tzst` to a
// file, a second sync with nothing new, and a sync after blocks appear. Every row runs the
// frozen CLI build as a process and reads its --json answer; times are the CLI's own clock
// (snapshot + listing + downloads + verification + fsync + renames), as the cli group does.

import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { cliCommand, fmtBytes, fmtSecs, log, measureShell, registerCleanup, shq } from './util.mjs';

const MB = 1e6;

/** Runs the CLI with `args`; a record for a row, with the parsed --json answer beside it. */
async function cliRun(bench, args, inputBytes) {
  const script = `${cliCommand(bench.buildDir)} ${args.map(shq).join(' ')} --server ${shq(bench.serverUrl)} --json`;
  await bench.waitQuiet();
  const m = await measureShell(script, { serverPid: bench.server.pid });
  let json;
  try {
    json = JSON.parse(m.stdout.slice(m.stdout.indexOf('{')));
  } catch {
    json = undefined;
  }
  const ok = m.code === 0 && !!json;
  const rec = {
    ok,
    error: ok ? undefined : `exit ${m.code}: ${(m.stderr || m.stdout).slice(-300)}`,
    seconds: json?.seconds ?? m.seconds,
    wallSeconds: m.seconds,
    inputBytes: inputBytes ?? json?.total?.bytes ?? bench.input.bytes,
    outBytes: json?.transferred ? json.transferred.archive_bytes + json.listing_bytes : json?.bytes,
    cpu: m.cpu,
    cpuServer: m.cpuServer,
    cpuClient: m.cpuClient,
    peakRss: m.serverPeakRss,
    rssOf: 'server',
    clientPeakRss: m.treePeakRss,
    cpuOther: m.cpuOther,
    steal: m.steal,
  };
  return { rec, json };
}

function record(bench, row, rec, warmup) {
  (warmup ? row.warmup : row.runs).push(rec);
  bench.logRun(row, rec, warmup);
}

/**
 * Rows: sync-first-<format> (an empty DIR each run) for tar and tzst, and the reference
 * sync-create-tzst (create --format tzst to a file); sync-second (nothing new: seconds and bytes
 * over the wire); sync-new (the newest blocks taken out of DIR first, so they are the new ones: a
 * new block on the server and a block missing from DIR are the same thing to sync).
 */
export async function groupSync(bench, { runs, parallelRuns = 1 }) {
  const base = path.join(bench.o.cacheDir, 'sync-out');
  const dir = path.join(base, 'tsdb');
  const file = path.join(base, 'create.tar.zst');
  fs.rmSync(base, { recursive: true, force: true });
  fs.mkdirSync(base, { recursive: true });
  registerCleanup(() => fs.rmSync(base, { recursive: true, force: true }));
  const rows = {
    ref: bench.base('sync-create-tzst', 'prombackup create --format tzst to a file (reference)', 'sync', 'ref'),
    tar: bench.base('sync-first-tar', 'ours: first sync into an empty DIR, --format tar', 'sync', 'ours'),
    tzst: bench.base('sync-first-tzst', 'ours: first sync into an empty DIR, --format tzst', 'sync', 'ours'),
    par: bench.base('sync-first-tar-p2', 'ours: first sync, --format tar --parallel 2', 'sync', 'context'),
    second: bench.base('sync-second', 'ours: second sync, nothing new', 'sync', 'ours'),
    fresh: bench.base('sync-new', 'ours: sync after the two newest blocks appear', 'sync', 'ours'),
  };
  rows.ref.command = 'prombackup create --server $SERVER --format tzst --output FILE --force --json';
  rows.tar.command = 'prombackup sync DIR --server $SERVER --format tar --json';
  rows.tzst.command = 'prombackup sync DIR --server $SERVER --format tzst --json';
  rows.par.command = 'prombackup sync DIR --server $SERVER --format tar --parallel 2 --json';
  rows.second.command = rows.tar.command;
  rows.fresh.command = rows.tar.command;

  const create = async ({ warmup }) => {
    const { rec } = await cliRun(bench, ['create', '--format', 'tzst', '--output', file, '--force']);
    fs.rmSync(file, { force: true });
    fs.rmSync(`${file}.sha256`, { force: true });
    record(bench, rows.ref, rec, warmup);
  };
  const firstSync = (row, extra) => async ({ warmup }) => {
    fs.rmSync(dir, { recursive: true, force: true });
    const { rec } = await cliRun(bench, ['sync', dir, ...extra]);
    record(bench, row, rec, warmup);
  };
  const second = async ({ warmup }) => {
    const { rec, json } = await cliRun(bench, ['sync', dir]);
    record(bench, rows.second, { ...rec, transferredBlocks: json?.transferred?.blocks }, warmup);
  };
  const appear = async ({ warmup }) => {
    const ulids = (await fsp.readdir(dir)).filter((n) => /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/.test(n)).sort().slice(-2);
    let bytes = 0;
    for (const u of ulids) {
      for (const f of await fsp.readdir(path.join(dir, u), { recursive: true })) {
        const st = fs.statSync(path.join(dir, u, f));
        if (st.isFile()) bytes += st.size;
      }
      fs.rmSync(path.join(dir, u), { recursive: true });
    }
    const { rec, json } = await cliRun(bench, ['sync', dir]);
    // The row's input is what appeared, so its out/in column compares the wire with those blocks.
    rows.fresh.inputBytes = bytes || rows.fresh.inputBytes;
    record(bench, rows.fresh, { ...rec, inputBytes: bytes || rec.inputBytes, newBlockBytes: bytes, transferredBlocks: json?.transferred?.blocks }, warmup);
  };

  await bench.rounds([
    { runs, warmup: true, fn: create },
    { runs, warmup: true, fn: firstSync(rows.tzst, ['--format', 'tzst']) },
    { runs: parallelRuns, warmup: false, fn: firstSync(rows.par, ['--format', 'tar', '--parallel', '2']) },
    // Last of the first syncs: the later rows work on the DIR it leaves.
    { runs, warmup: true, fn: firstSync(rows.tar, ['--format', 'tar']) },
    { runs, warmup: false, fn: second },
    { runs, warmup: false, fn: appear },
  ]);
  log(`sync group: DIR ${dir} (${fmtBytes(bench.input.bytes)} snapshot)`);
}

/** The sync targets, for Bench.targets(). */
export function syncTargets(bench, summary, ratioTarget) {
  const out = [];
  // Either format may be the faster on a machine; the default (tar) must make the target.
  ratioTarget('first sync (default --format tar) vs create --format tzst to a file', 'sync-first-tar', 'sync-create-tzst', 0.9);
  const context = (name, id) => {
    const a = summary(id);
    const b = summary('sync-create-tzst');
    if (a?.mbps && b?.mbps) out.push({ target: name, ours: `${a.mbps.toFixed(0)} MB/s`, reference: `${b.mbps.toFixed(0)} MB/s`, measured: `${(a.mbps / b.mbps).toFixed(2)}x`, need: '-', pass: null, info: true });
  };
  context('context: first sync --format tzst vs create --format tzst', 'sync-first-tzst');
  context('context: first sync --format tar --parallel 2 vs create --format tzst', 'sync-first-tar-p2');
  const second = bench.rows.get('sync-second')?.runs.filter((r) => r.ok) ?? [];
  if (second.length) {
    const secs = Math.max(...second.map((r) => r.seconds));
    const frac = Math.max(...second.map((r) => r.outBytes / bench.input.bytes));
    out.push({ target: 'second sync, nothing new: time (slowest run)', measured: fmtSecs(secs), need: '< 2 s', pass: secs < 2 && second.every((r) => r.transferredBlocks === 0), value: secs });
    out.push({ target: 'second sync, nothing new: bytes over the wire / TSDB bytes', measured: `${(frac * 100).toFixed(3)}% (${fmtBytes(Math.max(...second.map((r) => r.outBytes)))})`, need: '< 1%', pass: frac < 0.01, value: frac });
  }
  const fresh = bench.rows.get('sync-new')?.runs.filter((r) => r.ok) ?? [];
  if (fresh.length) {
    const over = Math.max(...fresh.map((r) => r.outBytes / r.newBlockBytes - 1));
    out.push({
      target: 'sync after new blocks: bytes over the wire vs those blocks',
      measured: `+${(over * 100).toFixed(2)}% (${fresh.map((r) => `${fmtBytes(r.outBytes)} for ${fmtBytes(r.newBlockBytes)}`).join(', ')})`,
      need: '< +1%',
      pass: over < 0.01 && fresh.every((r) => r.transferredBlocks === 2),
      value: over,
    });
  }
  return out;
}

export const syncRowNote = (inputBytes) =>
  `the sync rows time with the CLI's own clock (--json "seconds"); first syncs and create count the snapshot's ${fmtBytes(inputBytes)} per second (MB = ${MB} bytes), the "new blocks" row counts the bytes of the blocks that appeared.`;
