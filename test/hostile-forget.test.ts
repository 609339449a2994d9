// forget against folders an operator could really have: an archive whose name is dated far in the
// future (a Prometheus host whose clock was wrong once, or a stray file named like an archive).
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeArchive } from './support/backup-folder';
import { runCli } from './support/processes';

let dir: string;
beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pb-hostile-forget-'));
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('forget with an archive dated in the future', () => {
  it('keeps it without letting it take the slot of the newest real archive', async () => {
    const now = new Date();
    const stamp = (d: Date) => d.toISOString().replace(/[-:]/g, '').slice(0, 15) + 'Z';
    const real = [];
    for (let h = 3; h >= 1; h--) real.push(await writeArchive(dir, `${stamp(new Date(now.getTime() - h * 3600_000))}-real${h}`, 'tzst'));
    const future = await writeArchive(dir, '29991231T235959Z-ffff', 'tar');
    const run = await runCli(['forget', dir, '--keep-last', '1', '--json']);
    expect(run.code, run.stderr).toBe(0);
    const left = await fs.readdir(dir);
    // The newest real archive stays: it is the last backup that can be trusted to be recent.
    expect(left).toContain(path.basename(real[2]));
    expect(left).toContain(path.basename(future));
    const result = JSON.parse(run.stdout.toString()) as { archives: { name: string; action: string; note?: string }[] };
    expect(result.archives.find((a) => a.name === path.basename(future))).toMatchObject({ action: 'keep', note: expect.stringMatching(/future/) });
  });
});
