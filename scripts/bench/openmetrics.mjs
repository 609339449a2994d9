// Fast generator of node-exporter-like OpenMetrics text for promtool backfilling.
//
// Series look like what a fleet of node exporters produces: per host CPU seconds per core and
// mode, memory gauges, disk and network counters per device, filesystem gauges per mount, load
// averages, plus `up` and scrape durations. Values follow plausible random walks at the
// precision node exporter reports (integers for byte and operation counters, centiseconds for
// CPU time, full-precision floats for load and scrape duration), so the Gorilla-encoded chunks
// have realistic entropy: neither constant (compresses to nothing) nor random bytes.
//
// Output is time-major (one "scrape" of every series per step), written in ~4 MiB string
// chunks to a file stream with backpressure.

import fs from 'node:fs';
import { once } from 'node:events';

// Small, fast, seedable PRNG (mulberry32) so a dataset is reproducible from its parameters.
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Value models.
const CONST = 0; // never changes (sizes, MemTotal, up, info-like)
const CPU = 1; // counter, centisecond precision, increment = share of 15 s
const BYTES = 2; // integer counter with bursty rate
const OPS = 3; // small integer counter
const RARE = 4; // counter that rarely increments (errors, drops)
const MEM = 5; // gauge in 4 KiB pages, bounded random walk
const FLOAT = 6; // gauge, full precision (load averages)
const DURATION = 7; // gauge, fresh random value every scrape (scrape_duration_seconds)
const FS = 8; // gauge in 4 KiB blocks, slow drift (filesystem free/avail)

const MODES = [
  ['idle', 0.7],
  ['user', 0.15],
  ['system', 0.06],
  ['iowait', 0.02],
  ['irq', 0.002],
  ['softirq', 0.01],
  ['steal', 0.003],
  ['nice', 0.001],
];
const MEMORY = [
  'MemTotal',
  'MemFree',
  'MemAvailable',
  'Buffers',
  'Cached',
  'SwapCached',
  'Active',
  'Inactive',
  'Active_anon',
  'Inactive_anon',
  'Active_file',
  'Inactive_file',
  'Dirty',
  'Writeback',
  'AnonPages',
  'Mapped',
  'Shmem',
  'Slab',
  'SReclaimable',
  'SUnreclaim',
  'KernelStack',
  'PageTables',
  'Committed_AS',
  'VmallocUsed',
  'HugePages_Total',
  'SwapTotal',
  'SwapFree',
];
const DISK_COUNTERS = [
  ['node_disk_read_bytes_total', BYTES, 2e6],
  ['node_disk_written_bytes_total', BYTES, 5e6],
  ['node_disk_reads_completed_total', OPS, 80],
  ['node_disk_writes_completed_total', OPS, 200],
  ['node_disk_reads_merged_total', OPS, 10],
  ['node_disk_writes_merged_total', OPS, 40],
  ['node_disk_read_time_seconds_total', CPU, 0.05],
  ['node_disk_write_time_seconds_total', CPU, 0.2],
  ['node_disk_io_time_seconds_total', CPU, 0.15],
  ['node_disk_io_time_weighted_seconds_total', CPU, 0.3],
  ['node_disk_discards_completed_total', RARE, 0],
];
const NET_COUNTERS = [
  ['node_network_receive_bytes_total', BYTES, 4e6],
  ['node_network_transmit_bytes_total', BYTES, 3e6],
  ['node_network_receive_packets_total', OPS, 4000],
  ['node_network_transmit_packets_total', OPS, 3000],
  ['node_network_receive_errs_total', RARE, 0],
  ['node_network_transmit_errs_total', RARE, 0],
  ['node_network_receive_drop_total', RARE, 0],
  ['node_network_transmit_drop_total', RARE, 0],
  ['node_network_receive_multicast_total', OPS, 2],
];
const NET_GAUGES = [
  ['node_network_mtu_bytes', 1500],
  ['node_network_speed_bytes', 1250000000],
  ['node_network_up', 1],
];
const MOUNTS = [
  ['/dev/sda1', 'ext4', '/'],
  ['/dev/sda2', 'ext4', '/boot'],
  ['/dev/nvme0n1p1', 'xfs', '/var/lib/prometheus'],
  ['tmpfs', 'tmpfs', '/run'],
  ['/dev/sdb1', 'ext4', '/srv/data'],
];

/** One host's series: [metric{labels} text, model, parameter, initial value]. */
function hostSeries(host, random) {
  const cpus = [2, 4, 8, 16][Math.floor(random() * 4)];
  const inst = `instance="${host.instance}",job="node"`;
  const out = [];
  const memTotal = Math.round(((2 ** (3 + Math.floor(random() * 4))) * 2 ** 30) / 4096) * 4096;
  out.push([`up{${inst}}`, CONST, 0, 1]);
  out.push([`scrape_duration_seconds{${inst}}`, DURATION, 0.02 + random() * 0.05, 0.03]);
  out.push([`scrape_samples_scraped{${inst}}`, CONST, 0, 900 + Math.floor(random() * 600)]);
  out.push([`node_boot_time_seconds{${inst}}`, CONST, 0, 1.69e9 + Math.floor(random() * 1e7)]);
  out.push([`node_time_seconds{${inst}}`, DURATION, 0, 0]); // rewritten per step: wall clock
  out.push([`node_uname_info{${inst},machine="x86_64",nodename="${host.name}",release="6.1.0-18-amd64",sysname="Linux"}`, CONST, 0, 1]);
  for (let c = 0; c < cpus; c++) {
    for (const [mode, share] of MODES) {
      out.push([`node_cpu_seconds_total{cpu="${c}",${inst},mode="${mode}"}`, CPU, share * (0.5 + random()), 1e5 * share * (1 + random())]);
    }
    out.push([`node_cpu_scaling_frequency_hertz{cpu="${c}",${inst}}`, MEM, 2.4e9, 2.4e9]);
  }
  for (const name of MEMORY) {
    const frac = name === 'MemTotal' || name === 'SwapTotal' || name === 'HugePages_Total' ? 1 : random() * 0.5;
    const model = frac === 1 ? CONST : MEM;
    out.push([`node_memory_${name}_bytes{${inst}}`, model, memTotal, Math.round((memTotal * frac) / 4096) * 4096]);
  }
  for (const dev of host.disks) {
    for (const [metric, model, rate] of DISK_COUNTERS) {
      out.push([`${metric}{device="${dev}",${inst}}`, model, rate * (0.2 + random()), Math.floor(random() * 1e6) * (model === BYTES ? 4096 : 1)]);
    }
  }
  for (const dev of host.nics) {
    for (const [metric, model, rate] of NET_COUNTERS) {
      out.push([`${metric}{device="${dev}",${inst}}`, model, rate * (0.2 + random()), Math.floor(random() * 1e9)]);
    }
    for (const [metric, value] of NET_GAUGES) out.push([`${metric}{device="${dev}",${inst}}`, CONST, 0, value]);
  }
  for (const [device, fstype, mountpoint] of MOUNTS) {
    const labels = `device="${device}",fstype="${fstype}",${inst},mountpoint="${mountpoint}"`;
    const size = Math.round((random() * 2e12 + 1e10) / 4096) * 4096;
    const free = Math.round((size * (0.2 + random() * 0.6)) / 4096) * 4096;
    out.push([`node_filesystem_size_bytes{${labels}}`, CONST, 0, size]);
    out.push([`node_filesystem_free_bytes{${labels}}`, FS, size, free]);
    out.push([`node_filesystem_avail_bytes{${labels}}`, FS, size, free - Math.round(size * 0.05 / 4096) * 4096]);
    out.push([`node_filesystem_files{${labels}}`, CONST, 0, Math.floor(size / 16384)]);
    out.push([`node_filesystem_files_free{${labels}}`, FS, size / 16384, Math.floor(size / 32768)]);
    out.push([`node_filesystem_readonly{${labels}}`, CONST, 0, 0]);
  }
  for (const [metric, base] of [
    ['node_load1', cpus * 0.3],
    ['node_load5', cpus * 0.3],
    ['node_load15', cpus * 0.3],
  ]) {
    out.push([`${metric}{${inst}}`, FLOAT, base, base * (0.5 + random())]);
  }
  out.push([`node_procs_running{${inst}}`, OPS, 0, 2]);
  out.push([`node_context_switches_total{${inst}}`, OPS, 3000 * cpus, Math.floor(random() * 1e11)]);
  out.push([`node_intr_total{${inst}}`, OPS, 2000 * cpus, Math.floor(random() * 1e11)]);
  out.push([`node_forks_total{${inst}}`, OPS, 20, Math.floor(random() * 1e8)]);
  out.push([`node_entropy_available_bits{${inst}}`, CONST, 0, 256]);
  return out;
}

/**
 * Builds the series set: hosts are added until `targetSeries` is reached. Deterministic for a
 * given seed.
 */
export function buildSeries(targetSeries, seed = 1) {
  const random = rng(seed);
  const series = [];
  for (let h = 0; series.length < targetSeries; h++) {
    const dc = ['fra1', 'ams3', 'iad2', 'sfo1'][h % 4];
    const name = `node-${String(h).padStart(4, '0')}.${dc}.example.net`;
    const host = {
      name,
      instance: `${name}:9100`,
      disks: ['sda', 'sdb', 'nvme0n1', 'nvme1n1', 'dm-0'].slice(0, 1 + Math.floor(random() * 4)),
      nics: ['eth0', 'eth1', 'lo', 'docker0', 'bond0'].slice(0, 2 + Math.floor(random() * 3)),
    };
    series.push(...hostSeries(host, random));
  }
  return series;
}

/**
 * Writes OpenMetrics text for `series` from startSec (inclusive) to endSec (exclusive) every
 * stepSec seconds. Returns the number of samples written.
 */
export async function writeOpenMetrics(file, series, { startSec, endSec, stepSec = 15, seed = 1 }) {
  const random = rng(seed ^ Math.floor(startSec / stepSec));
  const n = series.length;
  const prefix = series.map((s) => s[0] + ' ');
  const model = Uint8Array.from(series, (s) => s[1]);
  const param = Float64Array.from(series, (s) => s[2]);
  const value = Float64Array.from(series, (s) => s[3]);
  // Counters continue from a level that grows with time, so blocks generated in any order fit
  // together roughly like one long history.
  const elapsed = (startSec - 1.6e9) / stepSec;
  for (let i = 0; i < n; i++) {
    const m = model[i];
    if (m === CPU) value[i] = Math.round((value[i] + param[i] * stepSec * elapsed) * 100) / 100;
    else if (m === BYTES || m === OPS) value[i] = Math.floor(value[i] + param[i] * stepSec * elapsed * 0.5);
  }
  const out = fs.createWriteStream(file, { highWaterMark: 8 * 1024 * 1024 });
  let chunk = '';
  let samples = 0;
  for (let t = startSec; t < endSec; t += stepSec) {
    // A diurnal load factor shared by all hosts, plus per-step noise.
    const day = 0.6 + 0.4 * Math.sin((2 * Math.PI * (t % 86400)) / 86400);
    const ts = ' ' + t + '\n';
    for (let i = 0; i < n; i++) {
      let v = value[i];
      switch (model[i]) {
        case CONST:
          break;
        case CPU:
          v = Math.round((v + param[i] * stepSec * day * (0.5 + random())) * 100) / 100;
          break;
        case BYTES:
          v += Math.floor(param[i] * stepSec * day * (random() < 0.1 ? 5 * random() : random()));
          break;
        case OPS:
          if (param[i] === 0) v = Math.max(0, Math.round(v + (random() - 0.5) * 3));
          else v += Math.floor(param[i] * stepSec * day * random());
          break;
        case RARE:
          if (random() < 0.002) v += 1;
          break;
        case MEM: {
          const step = Math.round((random() - 0.5) * param[i] * 0.0005 / 4096) * 4096;
          v = Math.min(param[i], Math.max(0, v + step));
          break;
        }
        case FLOAT:
          v = Math.max(0, v + (random() - 0.5) * 0.1 * param[i] + (param[i] * day - v) * 0.05);
          break;
        case DURATION:
          v = param[i] === 0 ? t + random() * 0.5 : param[i] * (0.7 + random() * 0.6);
          break;
        case FS:
          if (random() < 0.3) v = Math.max(0, v + Math.round((random() - 0.55) * param[i] * 1e-6 / 4096) * 4096);
          break;
      }
      value[i] = v;
      chunk += prefix[i] + v + ts;
    }
    samples += n;
    if (chunk.length > 4 * 1024 * 1024) {
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  chunk += '# EOF\n';
  out.write(chunk);
  out.end();
  await once(out, 'close');
  return samples;
}
