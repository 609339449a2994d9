// The "restore" group of the benchmark: `prombackup restore` of the snapshot's tzst archive into an
// empty folder against `zstd -dc FILE | tar -x` into another. Both read the same file from the
// page cache once; ours also checks every entry and the SHA-256, extracting beside the folder, and
// syncs each block to disk before renaming it into place, which tar does not.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cliCommand, fmtBytes, log, measureShell, registerCleanup, shq } from './util.mjs';

/** Runs the group on `bench` (the Bench instance of scripts/bench.mjs). */
export async function groupRestore(bench) {
  const dir = path.join(bench.o.cacheDir, 'restore');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  registerCleanup(() => fs.rmSync(dir, { recursive: true, force: true }));
  const cli = cliCommand(bench.buildDir);
  const archive = path.join(dir, `${bench.snapName}.tar.zst`);
  const made = await measureShell(`${cli} download ${shq(bench.snapName)} --server ${shq(bench.serverUrl)} --format tzst --output ${shq(archive)} --json`);
  if (made.code !== 0) throw new Error(`could not download the tzst archive for the restore rows: ${made.stderr.slice(-300)}`);
  log(`restore group: archive ${fmtBytes(fs.statSync(archive).size)} for ${fmtBytes(bench.input.bytes)} of blocks`);

  const ours = bench.base('restore', 'ours: prombackup restore FILE.tar.zst --to DIR (checks, SHA-256, fsync)', 'restore', 'ours');
  ours.command = 'prombackup restore FILE.tar.zst --to DIR --json';
  const noVerify = bench.base('restore-no-verify', 'prombackup restore --no-verify (no SHA-256)', 'restore', 'context');
  const ref = bench.base('restore-ref', 'zstd -dc FILE.tar.zst | tar -x -C DIR', 'restore', 'ref');
  // What durability costs the reference: the same, then its files synced to disk as ours are.
  const floor = bench.base('restore-node-floor', 'Node in process: read, Node zstd, tar-stream, files (no checks, no SHA-256, no sync)', 'restore', 'context');
  const refSynced = bench.base('restore-ref-sync', 'zstd -dc FILE.tar.zst | tar -x -C DIR; sync -f DIR', 'restore', 'context');
  const target = path.join(dir, 'tsdb');

  const run = (row, script, fromJson) => async ({ warmup }) => {
    fs.rmSync(target, { recursive: true, force: true });
    fs.mkdirSync(target);
    await bench.waitQuiet();
    const m = await measureShell(script);
    let json;
    try {
      json = fromJson ? JSON.parse(m.stdout.slice(m.stdout.indexOf('{'))) : undefined;
    } catch {
      json = undefined;
    }
    const ok = m.code === 0 && (!fromJson || !!json);
    const rec = {
      ok,
      error: ok ? undefined : `exit ${m.code}: ${(m.stderr || m.stdout).slice(-300)}`,
      // The CLI's own clock, which leaves out Node and oclif starting up; the wall time is beside it.
      seconds: json?.seconds ?? m.seconds,
      wallSeconds: m.seconds,
      inputBytes: bench.input.bytes,
      cpu: m.cpu,
      cpuOther: m.cpuOther,
      steal: m.steal,
    };
    (warmup ? row.warmup : row.runs).push(rec);
    bench.logRun(row, rec, warmup);
    fs.rmSync(target, { recursive: true, force: true });
  };
  await bench.rounds(
    [
      { runs: bench.o.runs, warmup: true, fn: run(ref, `zstd -q -dc ${shq(archive)} | tar -x -C ${shq(target)}`, false) },
      { runs: bench.o.runs, warmup: true, fn: run(ours, `${cli} restore ${shq(archive)} --to ${shq(target)} --json`, true) },
      { runs: bench.o.contextRuns, warmup: false, fn: run(noVerify, `${cli} restore ${shq(archive)} --to ${shq(target)} --no-verify --json`, true) },
      { runs: bench.o.contextRuns, warmup: false, fn: run(floor, `${shq(process.execPath)} ${shq(fileURLToPath(new URL('./node-unpack.mjs', import.meta.url)))} ${shq(archive)} ${shq(target)}`, true) },
      { runs: bench.o.contextRuns, warmup: false, fn: run(refSynced, `zstd -q -dc ${shq(archive)} | tar -x -C ${shq(target)} && sync -f ${shq(target)}`, false) },
    ],
    { freshServer: false },
  );
  bench.note('restore rows: ours reads the archive once, checking every entry and the SHA-256 while it extracts into a folder beside DIR, syncs every block to disk and renames the blocks into DIR once all checked out; `zstd -dc | tar -x` leaves the data in the page cache. Times are the CLI\'s own clock (--json "seconds"), without Node/oclif start-up.');
}
