// The package installs globally and brings both commands.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from './support/processes';

const prefix = await fs.mkdtemp(path.join(os.tmpdir(), 'pb-global-'));
afterAll(() => fs.rm(prefix, { recursive: true, force: true }));

describe('npm install -g', () => {
  it('installs prombackup and prombackup-server', () => {
    execFileSync('npm', ['install', '-g', '--prefix', prefix, '--no-audit', '--no-fund', REPO_ROOT], { stdio: 'pipe' });
    const server = execFileSync(path.join(prefix, 'bin', 'prombackup-server'), ['-version']).toString();
    expect(server).toMatch(/^prombackup-server \d+\.\d+\.\d+/);
    const cli = execFileSync(path.join(prefix, 'bin', 'prombackup'), ['--help']).toString();
    expect(cli).toMatch(/create\s+Take a snapshot, download it and verify it end to end/);
    // Named after the command, not after the workspace package that holds it (prombackup-cli).
    for (const flag of ['--version', '-version']) {
      expect(execFileSync(path.join(prefix, 'bin', 'prombackup'), [flag]).toString()).toMatch(/^prombackup\/\d+\.\d+\.\d+ /);
    }
  }, 120_000);
});
