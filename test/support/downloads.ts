// Downloading over plain HTTP in the end-to-end suites: a pausable GET, the finished status of a
// download, and small snapshot folders to download.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'vitest';
import { DOWNLOAD_ID_HEADER } from '@prombackup/contract';
import type { ServerProcess } from './processes';

/** A block folder name, as Prometheus makes them. */
export const BLOCK = '01HXXXXXXXXXXXXXXXXXXXXXXX';

export interface Finished {
  success: boolean;
  error_text: string | null;
  sha256_hex: string;
}

export interface Received {
  status: number;
  id: string;
  body: Buffer;
  /** The response ended cleanly (all of it arrived); false when the server cut it off. */
  complete: boolean;
}

/** A temporary folder that "nobody" can enter. */
export async function tempDir(prefix: string): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), prefix));
  await fs.chmod(dir, 0o755);
  return dir;
}

/**
 * GET a download. With `midStream`, pauses after the first bytes, or after `pauseAfterBytes` (a
 * slow reader: the server is stuck mid-file), runs it, then reads the rest. Fails instead of
 * hanging after `timeoutMs`.
 */
export function get(url: string, midStream?: () => Promise<void>, timeoutMs = 30_000, pauseAfterBytes = 0): Promise<Received> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let settled = false;
    const timer = setTimeout(() => {
      settled = true;
      req.destroy();
      reject(new Error(`GET ${url} did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
    const done = (res: http.IncomingMessage, complete: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({
        status: res.statusCode ?? 0,
        id: (res.headers[DOWNLOAD_ID_HEADER.toLowerCase()] as string | undefined) ?? '',
        body: Buffer.concat(chunks),
        complete,
      });
    };
    const req = http.get(url, (res) => {
      let acted = !midStream;
      let received = 0;
      res.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        received += chunk.length;
        if (acted || received < pauseAfterBytes) return;
        acted = true;
        res.pause();
        setTimeout(() => {
          midStream!().then(
            () => res.resume(),
            (err) => {
              settled = true;
              clearTimeout(timer);
              req.destroy();
              reject(err);
            },
          );
        }, 300);
      });
      res.on('end', () => done(res, res.complete));
      res.on('error', () => done(res, false));
      res.on('close', () => done(res, res.complete));
    });
    req.on('error', (err) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(err);
    });
  });
}

export async function statusOf(server: ServerProcess, id: string): Promise<Finished> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const res = await fetch(`${server.url}/api/download_status?id=${encodeURIComponent(id)}`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { finished: Finished | null };
    if (body.finished) return body.finished;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`download ${id} never finished`);
}

export async function json(res: Response): Promise<{ statusCode: number; message: string } & Record<string, unknown>> {
  return (await res.json()) as { statusCode: number; message: string };
}

/** The server must never disclose filesystem paths; snapshot-relative names are fine. */
export function expectNoAbsolutePath(text: string, ...roots: string[]): void {
  for (const root of roots) expect(text).not.toContain(root);
  expect(text).not.toMatch(/(^|[\s'"(:])\/[A-Za-z0-9._-]/);
}

export async function writeSmallSnapshot(dir: string, name: string): Promise<string> {
  const folder = path.join(dir, name);
  await fs.mkdir(path.join(folder, BLOCK, 'chunks'), { recursive: true });
  await fs.writeFile(path.join(folder, BLOCK, 'chunks', '000001'), randomBytes(64 * 1024));
  await fs.writeFile(path.join(folder, BLOCK, 'index'), randomBytes(4096));
  await fs.writeFile(path.join(folder, BLOCK, 'meta.json'), '{"ulid":"x"}');
  return folder;
}

