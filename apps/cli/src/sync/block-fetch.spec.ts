import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { BlockDto } from '@prombackup/client';
import { DOWNLOAD_ID_HEADER } from '@prombackup/contract';
import { afterEach, describe, expect, it } from 'vitest';
import { tarOf } from '../../../../test/support/tar-entries';
import { createClient } from '../api';
import { fetchBlock } from './block-fetch';

const SNAPSHOT = '20240102T030405Z-0123456789abcdef';
const ULID = '01HAAAAAAAAAAAAAAAAAAAAAAA';
const BLOCK = { ulid: ULID, files: [{ path: 'meta.json', size: 2, mtime_ms: 0 }, { path: 'chunks/000001', size: 100_000, mtime_ms: 0 }] } as unknown as BlockDto;

let server: http.Server | undefined;
let into: string;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  rmSync(into, { recursive: true, force: true });
});

/**
 * A server that breaks a block's download off after its first entry, as prombackup-server does
 * when it meets a file it cannot archive (hard to plant in a real snapshot mid-sync), and whose
 * status says why (or answers 404 when `errorText` is undefined).
 */
async function serve(errorText: string | undefined): Promise<string> {
  const tar = await tarOf([{ name: `${SNAPSHOT}/${ULID}/meta.json`, body: '{}' }, { name: `${SNAPSHOT}/${ULID}/chunks/000001`, body: Buffer.alloc(100_000) }]);
  server = http.createServer((req, res) => {
    if (req.url!.startsWith('/api/download_status')) {
      if (errorText === undefined) return void res.writeHead(404, { 'Content-Type': 'application/json' }).end('{"message":"no download"}');
      const finished = { success: false, error_text: errorText, sha256_hex: '' };
      return void res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ id: 'id1', snapshot_name: SNAPSHOT, finished }));
    }
    res.writeHead(200, { [DOWNLOAD_ID_HEADER]: 'id1', 'Content-Type': 'application/x-tar' });
    res.write(tar.subarray(0, 3 * 512), () => res.destroy());
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  into = mkdtempSync(path.join(os.tmpdir(), 'block-fetch-'));
  return `http://127.0.0.1:${(server!.address() as AddressInfo).port}`;
}

describe('a block download the server broke off', () => {
  it("says the server's reason beside the cut, with its control characters escaped", async () => {
    const client = createClient(await serve(`${SNAPSHOT}/${ULID}/chunks/fifo\u001b[2J is a named pipe: unsupported`));
    await expect(fetchBlock(client, BLOCK, { snapshot: SNAPSHOT, format: 'tar', into })).rejects.toThrow(
      /; the server reports: .*chunks\/fifo\\x1b\[2J is a named pipe: unsupported$/,
    );
  });

  it('says only the cut when the server has no reason to give', async () => {
    const client = createClient(await serve(undefined));
    const failure = await fetchBlock(client, BLOCK, { snapshot: SNAPSHOT, format: 'tar', into }).catch((err: Error) => err);
    expect(failure).toBeInstanceOf(Error);
    expect((failure as Error).message).not.toContain('the server reports');
  });
});
