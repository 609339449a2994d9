// Misbehaving stand-ins for Prometheus' admin API, and a real Prometheus without it.
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { findPrometheus, freePort } from './prometheus';

export type FakeBehaviour =
  /** A proper answer: {"status":"success","data":{"name":"<valid name>"}}. */
  | 'good'
  /** The proper answer after `delayMs`, as a Prometheus writing out a large head block. */
  | 'slow'
  /** Accepts the connection and never answers. */
  | 'hang'
  /** Sends the status line and headers, then never the body. */
  | 'stall-body'
  /** 200 with an HTML page, as a proxy or another web server would. */
  | 'html'
  /** 200 with JSON success and a name that would escape the snapshot folder. */
  | 'bad-name'
  /** 200 with JSON success and no name at all. */
  | 'no-name'
  /** 500 with Prometheus' error JSON, e.g. a full disk. */
  | 'error-500'
  /** 404 from something that is not Prometheus. */
  | 'not-found';

export interface FakePrometheus {
  url: string;
  behaviour: FakeBehaviour;
  /** "METHOD path" of every request received. */
  requests: string[];
  /** How long 'slow' takes to answer. */
  delayMs: number;
  /** When set, 'good' and 'slow' create the snapshot folder here before answering, as Prometheus does. */
  snapshotDir?: string;
  close(): Promise<void>;
}

export const GOOD_NAME = '20240102T030405Z-0123456789abcdef';

export async function startFakePrometheus(behaviour: FakeBehaviour = 'good'): Promise<FakePrometheus> {
  const fake: FakePrometheus = { url: '', behaviour, requests: [], delayMs: 1_500, close: async () => undefined };
  const hanging = new Set<http.ServerResponse>();
  const server = http.createServer((req, res) => {
    // The server's readiness asks for the flags: a Prometheus with its admin API on, whatever the snapshot behaviour.
    if (req.url === '/api/v1/status/flags') {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      return void res.end(JSON.stringify({ status: 'success', data: { 'web.enable-admin-api': 'true', 'storage.tsdb.path': '/prometheus' } }));
    }
    fake.requests.push(`${req.method} ${req.url}`);
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const snapshotTaken = async () => {
      if (fake.snapshotDir) await makeSnapshotFolder(fake.snapshotDir, GOOD_NAME);
      json(200, { status: 'success', data: { name: GOOD_NAME } });
    };
    switch (fake.behaviour) {
      case 'good':
        return void snapshotTaken();
      case 'slow':
        hanging.add(res);
        setTimeout(() => void snapshotTaken(), fake.delayMs);
        return;
      case 'hang':
        hanging.add(res);
        return;
      case 'stall-body':
        res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': '1000' });
        res.write('{"status":');
        hanging.add(res);
        return;
      case 'html':
        res.writeHead(200, { 'Content-Type': 'text/html' });
        return res.end('<!DOCTYPE html>\n<html><body><h1>Welcome to nginx!</h1></body></html>\n');
      case 'bad-name':
        return json(200, { status: 'success', data: { name: '../../etc' } });
      case 'no-name':
        return json(200, { status: 'success', data: {} });
      case 'error-500':
        return json(500, { status: 'error', errorType: 'internal', error: 'create snapshot: no space left on device' });
      case 'not-found':
        res.writeHead(404, { 'Content-Type': 'text/plain' });
        return res.end('404 page not found\n');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  fake.close = () =>
    new Promise((resolve) => {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return fake;
}

/** A snapshot folder shaped like Prometheus makes them: one block with its files. */
async function makeSnapshotFolder(snapshotDir: string, name: string): Promise<void> {
  const block = path.join(snapshotDir, name, '01HZZZZZZZZZZZZZZZZZZZZZZZ');
  await fs.mkdir(path.join(block, 'chunks'), { recursive: true });
  await fs.writeFile(path.join(block, 'meta.json'), '{}');
  await fs.writeFile(path.join(block, 'chunks', '000001'), 'samples');
}

export interface PlainPrometheus {
  url: string;
  stop(): Promise<void>;
}

/** A real Prometheus started WITHOUT --web.enable-admin-api, no scrapes, on a temp data folder. */
export async function startPrometheusWithoutAdminApi(): Promise<PlainPrometheus> {
  const { prometheus } = findPrometheus();
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pb-noadmin-'));
  const config = path.join(dir, 'prometheus.yml');
  await fs.writeFile(config, 'global:\n  scrape_interval: 15s\n');
  const port = await freePort();
  let log = '';
  const child: ChildProcess = spawn(
    prometheus,
    [`--config.file=${config}`, `--storage.tsdb.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  child.stderr!.on('data', (d) => (log = (log + d).slice(-4000)));
  const kill = () => child.exitCode === null && child.signalCode === null && child.kill('SIGKILL');
  process.once('exit', kill);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const timer = setTimeout(kill, 10_000);
    await exited;
    clearTimeout(timer);
    process.off('exit', kill);
    await fs.rm(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`Prometheus exited with ${child.exitCode}:\n${log}`);
    }
    try {
      if ((await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(2_000) })).ok) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`Prometheus did not become ready:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, stop };
}
