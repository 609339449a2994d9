// `prombackup forget DIR --keep-…` run as a real process on a real folder of archives named as
// `create` names them (no server needed): what it keeps, what it removes, and what it never touches.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { archiveFileName } from '@prombackup/contract';
import { partialName } from '../apps/cli/src/partial-name';
import { AS_NOBODY, fingerprint, oneLine, writeArchive } from './support/backup-folder';
import { NOBODY, runCli } from './support/processes';

let dir: string;
let outside: string;

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pb-forget-'));
  outside = await fs.mkdtemp(path.join(os.tmpdir(), 'pb-forget-outside-'));
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
  await fs.rm(outside, { recursive: true, force: true });
});

const names = async () => (await fs.readdir(dir)).sort();
const json = (run: { stdout: Buffer }) => JSON.parse(run.stdout.toString());

/** Ten daily archives in March 2024 at 02:00 UTC, plus a second one on the 10th. */
async function tenDays(): Promise<string[]> {
  const made: string[] = [];
  for (let day = 1; day <= 10; day++) made.push(await writeArchive(dir, `202403${String(day).padStart(2, '0')}T020000Z-${day}abc`));
  made.push(await writeArchive(dir, '20240310T180000Z-late', 'tzst'));
  return made;
}

describe('prombackup forget', () => {
  it('keeps what the policy keeps, removes the rest with their checksums, and says why', async () => {
    await tenDays();
    const run = await runCli(['forget', dir, '--keep-last', '2', '--keep-daily', '3', '--keep-weekly', '2']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const out = run.stdout.toString();
    expect(out).toMatch(/^keep +20240310T180000Z-late\.tar\.zst +last #1, daily 2024-03-10, weekly 2024-W10$/m);
    expect(out).toMatch(/^keep +20240310T020000Z-10abc\.tar\.gz +last #2$/m);
    expect(out).toMatch(/^keep +20240303T020000Z-3abc\.tar\.gz +weekly 2024-W09$/m);
    expect(out).toMatch(/^removed +20240301T020000Z-1abc\.tar\.gz \(\+ \.sha256: removed\)$/m);
    // Days 10 (twice), 9, 8 and the Sunday closing ISO week 9 stay, each with its checksum.
    expect(await names()).toEqual(
      ['20240303T020000Z-3abc.tar.gz', '20240308T020000Z-8abc.tar.gz', '20240309T020000Z-9abc.tar.gz', '20240310T020000Z-10abc.tar.gz', '20240310T180000Z-late.tar.zst']
        .flatMap((n) => [n, `${n}.sha256`])
        .sort(),
    );
    expect(out).toMatch(/kept 5 archives, removed 12 files/);
  });

  it('takes the time from the name, in UTC, never from the file', async () => {
    const older = await writeArchive(dir, '20240301T230000-0200-zoned', 'tar'); // 2024-03-02T01:00Z
    const newer = await writeArchive(dir, '20240302T020000Z-utc', 'tar');
    // mtimes that say the opposite
    await fs.utimes(path.join(dir, older), new Date('2030-01-01'), new Date('2030-01-01'));
    await fs.utimes(path.join(dir, newer), new Date('2001-01-01'), new Date('2001-01-01'));
    const run = await runCli(['forget', dir, '--keep-last', '1', '--json']);
    expect(run.code).toBe(0);
    const result = json(run);
    expect(result.archives.map((a: { name: string; action: string; time: string }) => [a.name, a.action, a.time])).toEqual([
      [newer, 'keep', '2024-03-02T02:00:00.000Z'],
      [older, 'remove', '2024-03-02T01:00:00.000Z'],
    ]);
    expect(await names()).toEqual([newer, `${newer}.sha256`]);
  });

  it('--dry-run lists the same decisions as a real run and changes nothing', async () => {
    await tenDays();
    const before = await fingerprint(dir);
    const dry = await runCli(['forget', dir, '--keep-daily', '4', '--dry-run', '--json']);
    expect(dry.code).toBe(0);
    expect(await fingerprint(dir)).toEqual(before);
    const human = await runCli(['forget', dir, '--keep-daily', '4', '--dry-run']);
    expect(human.stdout.toString()).toMatch(/^would-remove +20240301T020000Z-1abc\.tar\.gz \(\+ \.sha256: would-remove\)$/m);
    expect(human.stdout.toString()).toMatch(/would remove 7 of 11 archives; nothing was removed \(dry run\)/);
    expect(await fingerprint(dir)).toEqual(before);

    const real = await runCli(['forget', dir, '--keep-daily', '4', '--json']);
    expect(real.code).toBe(0);
    const decisions = (r: { archives: { name: string; action: string; reasons: unknown }[] }) => r.archives.map((a) => [a.name, a.action, a.reasons]);
    expect(json(real).dry_run).toBe(false);
    expect(json(dry).dry_run).toBe(true);
    expect(decisions(json(real))).toEqual(decisions(json(dry)));
    expect(json(real).archives.filter((a: { outcome: string }) => a.outcome === 'removed')).toHaveLength(7);
  });

  it('accepts Go-style spellings', async () => {
    await tenDays();
    const run = await runCli(['forget', dir, '-keep_last', '1', '-dry_run', '-json']);
    expect(run.code).toBe(0);
    expect(json(run)).toMatchObject({ dry_run: true, policy: { last: 1 } });
  });

  it('never touches links, folders or files it does not recognise, and clears orphan checksums', async () => {
    const kept = await writeArchive(dir, '20240310T020000Z-new');
    await writeArchive(dir, '20240301T020000Z-old');
    // A link named like an old archive, to a file outside; a link named like a checksum; a folder named like an archive.
    await fs.writeFile(path.join(outside, 'precious.tar'), 'outside');
    await fs.symlink(path.join(outside, 'precious.tar'), path.join(dir, '20240101T000000Z-link.tar'));
    await fs.symlink(path.join(outside, 'precious.tar'), path.join(dir, '20240102T000000Z-link2.tar.sha256'));
    await fs.mkdir(path.join(dir, '20240103T000000Z-dir.tar.gz'));
    await fs.writeFile(path.join(dir, '20240103T000000Z-dir.tar.gz', 'inside'), 'x');
    // What create leaves around, and what a person might keep there.
    const others = [
      partialName('20240311T020000Z-busy.tar.gz'),
      '.20240311T020000Z-busy.tar.gz.sha256.4242.0badcafe.tmp',
      '20240105T000000Z-kept.tar.gz.0badcafe.verified',
      'notes.txt',
      '20240101T000000Z-x.tar.gz.old',
      '20241301T000000Z-badmonth.tar',
    ];
    for (const name of others) await fs.writeFile(path.join(dir, name), 'keep me');
    // A checksum whose archive is gone (a forget cut off between the two removals leaves one).
    await fs.writeFile(path.join(dir, '20240104T000000Z-gone.tar.gz.sha256'), 'abc  20240104T000000Z-gone.tar.gz\n');
    const untouched = Object.fromEntries(Object.entries(await fingerprint(dir)).filter(([n]) => !n.includes('-old.') && !n.includes('-gone.')));

    const run = await runCli(['forget', dir, '--keep-last', '1']);
    expect(run.code).toBe(0);
    const out = run.stdout.toString();
    expect(out).toMatch(/^ignored 20240101T000000Z-link\.tar: a symbolic link, not a regular file: never followed or removed$/m);
    expect(out).toMatch(/^ignored 20240103T000000Z-dir\.tar\.gz: a folder, not a regular file/m);
    expect(out).toMatch(/^ignored 20241301T000000Z-badmonth\.tar: the snapshot name holds no valid time$/m);
    expect(out).toMatch(/^removed +20240104T000000Z-gone\.tar\.gz\.sha256 +\(checksum without its archive\)$/m);
    expect(await fingerprint(dir)).toEqual(untouched);
    expect(untouched).toHaveProperty([kept]);
    expect(await fs.readFile(path.join(outside, 'precious.tar'), 'utf8')).toBe('outside');
    expect(await fs.readFile(path.join(dir, '20240103T000000Z-dir.tar.gz', 'inside'), 'utf8')).toBe('x');
  });

  it('follows a folder given as a link, but nothing inside it', async () => {
    await writeArchive(dir, '20240310T020000Z-new');
    await writeArchive(dir, '20240301T020000Z-old');
    const link = path.join(outside, 'backups');
    await fs.symlink(dir, link);
    const run = await runCli(['forget', link, '--keep-last', '1', '--json']);
    expect(run.code).toBe(0);
    expect(await names()).toEqual(['20240310T020000Z-new.tar.gz', '20240310T020000Z-new.tar.gz.sha256']);
  });
});

describe('prombackup forget refuses bad input before touching anything', () => {
  const refused = async (args: string[], message: RegExp) => {
    const before = await fingerprint(dir);
    const run = await runCli(['forget', ...args]);
    expect(run.code, run.stderr).toBe(2);
    expect(oneLine(run.stderr)).toMatch(message);
    expect(await fingerprint(dir)).toEqual(before);
  };

  beforeEach(async () => {
    await tenDays();
  });

  it('without any policy, or with every rule at 0', async () => {
    await refused([dir], /no retention policy given: pass at least one of --keep-last, .*without one every archive would be removed/);
    await refused([dir, '--keep-daily', '0', '--keep-last', '0'], /every --keep-\* given is 0: that would remove every archive/);
  });

  it.each([
    ['last', '-1'],
    ['hourly', '1.5'],
    ['daily', 'abc'],
    ['weekly', ''],
    ['monthly', '99999999999999999999'],
    ['yearly', '0x10'],
    ['daily', '1e3'],
    ['last', ' '],
  ])('--keep-%s %j', async (rule, value) => {
    // Beside a valid rule, so that only the bad value can be what is refused.
    const args = rule === 'last' ? [dir, `--keep-last=${value}`, '--keep-daily', '1'] : [dir, `--keep-${rule}=${value}`, '--keep-last', '1'];
    await refused(args, new RegExp(`--keep-${rule} must be a whole number of 0 or more, got "${value.replace(/[.+*]/g, '\\$&')}"`));
  });

  it('a flag without its value, or a switch with a value', async () => {
    await refused([dir, '--keep-daily'], /--keep-daily expects a value/);
    await refused([dir, '--keep-daily', '3', '--dry-run=maybe'], /--dry-run is a switch/);
  });

  it('a folder that is missing, a file, or a URL', async () => {
    await refused([path.join(dir, 'missing'), '--keep-last', '1'], /missing: no such file or folder \(ENOENT\)/);
    const file = path.join(dir, (await names())[0]);
    await refused([file, '--keep-last', '1'], /is not a folder/);
    await refused(['https://host/prefix', '--keep-last', '1'], /forget works on a local folder or an s3:\/\/ URL; other URLs are not supported/);
    await refused(['--keep-last', '1'], /Missing 1 required arg/);
  });

  it('under --json, with the exit code in the error object', async () => {
    const run = await runCli(['forget', dir, '--keep-weekly', '-3', '--json']);
    expect(run.code).toBe(2);
    expect(json(run).error).toMatchObject({ message: expect.stringContaining('--keep-weekly must be a whole number'), oclif: { exit: 2 } });
  });
});

describe('prombackup forget when the file system says no', () => {
  it('a folder it may not write to: a clear error, nothing removed; --dry-run still works', async () => {
    await tenDays();
    await fs.chmod(dir, 0o755); // root's; the CLI runs as nobody
    const before = await fingerprint(dir);
    const run = await runCli(['forget', dir, '--keep-last', '1'], AS_NOBODY);
    expect(run.code).toBe(1);
    expect(oneLine(run.stderr)).toMatch(/cannot remove files in .*: permission denied \(EACCES\); nothing was removed/);
    expect(await fingerprint(dir)).toEqual(before);
    const dry = await runCli(['forget', dir, '--keep-last', '1', '--dry-run'], AS_NOBODY);
    expect(dry.code).toBe(0);
  });

  it('a folder it may not read: a clear error', async () => {
    await tenDays();
    await fs.chmod(dir, 0o700);
    const run = await runCli(['forget', dir, '--keep-last', '1'], AS_NOBODY);
    expect(run.code).toBe(1);
    expect(oneLine(run.stderr)).toMatch(/cannot read .*: permission denied \(EACCES\)/);
  });

  it('a file it may not remove halfway through: stops, says how far it got, leaves the rest', async () => {
    // In a sticky folder, nobody may remove only its own files.
    await fs.chmod(dir, 0o1777);
    const mine = await writeArchive(dir, '20240305T000000Z-nobodys', 'tar', false);
    await fs.chown(path.join(dir, mine), NOBODY.uid, NOBODY.gid);
    const roots = await writeArchive(dir, '20240304T000000Z-roots', 'tar', false);
    const older = await writeArchive(dir, '20240303T000000Z-older', 'tar', false);
    await writeArchive(dir, '20240306T000000Z-newest', 'tar', false);
    const run = await runCli(['forget', dir, '--keep-last', '1'], AS_NOBODY);
    expect(run.code).toBe(1);
    expect(oneLine(run.stderr)).toMatch(new RegExp(`cannot remove .*${roots}: operation not permitted \\(EPERM\\); 1 files were removed before this, nothing after`));
    expect(run.stdout.toString()).toMatch(new RegExp(`^removed +${mine}$`, 'm'));
    expect(await names()).toEqual([older, roots, '20240306T000000Z-newest.tar']);
  });

  it('archives removed by someone else meanwhile: no error, and nothing else removed', async () => {
    // One a minute over two days; checksums written plainly (create's own writer syncs each one, too slow for 2000).
    const made: string[] = [];
    for (let i = 0; i < 2000; i++) {
      const t = new Date(Date.UTC(2024, 0, 1, 0, i));
      const name = archiveFileName(`${t.toISOString().replace(/[-:]|\.\d+/g, '')}-n${i}`, 'tar');
      await fs.writeFile(path.join(dir, name), 'x');
      await fs.writeFile(path.join(dir, `${name}.sha256`), `${'0'.repeat(64)}  ${name}\n`);
      made.push(name);
    }
    await fs.writeFile(path.join(dir, 'notes.txt'), 'keep me');
    const newest = made[made.length - 1];
    const forget = runCli(['forget', dir, '--keep-last', '1']);
    // Once the CLI has begun (it removes the newest of the old ones first), remove them from the other end too.
    const first = path.join(dir, made[made.length - 2]);
    for (const deadline = Date.now() + 60_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 2))) {
      if (!(await fs.stat(first).then(() => true, () => false))) break;
    }
    for (const name of made.slice(0, -1)) {
      await fs.rm(path.join(dir, name), { force: true });
      await fs.rm(path.join(dir, `${name}.sha256`), { force: true });
    }
    const run = await forget;
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout.toString()).toMatch(/kept 1 archives, removed \d+ files/);
    expect(await names()).toEqual([newest, `${newest}.sha256`, 'notes.txt']);
  });
});
