import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { entryExists, readArchiveFolder, removeListedFile } from './archive-folder';
import { partialName } from './partial-name';

let dir: string;
let outside: string;

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pb-folder-'));
  outside = await fs.mkdtemp(path.join(os.tmpdir(), 'pb-outside-'));
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
  await fs.rm(outside, { recursive: true, force: true });
});

const put = (name: string, text = 'data') => fs.writeFile(path.join(dir, name), text);

describe('readArchiveFolder', () => {
  it('recognises the three formats, zoned names and their checksums, with the time from the name', async () => {
    await put('20240301T100000Z-aa11.tar');
    await put('20240301T100000Z-aa11.tar.sha256');
    await put('20240302T100000Z-bb22.tar.gz');
    await put('20240303T100000+0200-cc33.tar.zst');
    // An mtime that says otherwise is not looked at.
    await fs.utimes(path.join(dir, '20240301T100000Z-aa11.tar'), new Date('2030-01-01'), new Date('2030-01-01'));
    const folder = await readArchiveFolder(dir);
    const byName = Object.fromEntries(folder.archives.map((a) => [a.name, a]));
    expect(Object.keys(byName).sort()).toEqual(['20240301T100000Z-aa11.tar', '20240302T100000Z-bb22.tar.gz', '20240303T100000+0200-cc33.tar.zst']);
    expect(byName['20240301T100000Z-aa11.tar']).toMatchObject({ format: 'tar', snapshotName: '20240301T100000Z-aa11', checksum: { name: '20240301T100000Z-aa11.tar.sha256' } });
    expect(byName['20240301T100000Z-aa11.tar'].time.toISOString()).toBe('2024-03-01T10:00:00.000Z');
    expect(byName['20240302T100000Z-bb22.tar.gz'].format).toBe('tgz');
    expect(byName['20240302T100000Z-bb22.tar.gz'].checksum).toBeUndefined();
    expect(byName['20240303T100000+0200-cc33.tar.zst'].time.toISOString()).toBe('2024-03-03T08:00:00.000Z');
    expect(folder.ignored).toEqual([]);
    expect(folder.orphanChecksums).toEqual([]);
  });

  it('does not look at partials, temporary files, kept .verified backups or other names', async () => {
    const names = [
      partialName('20240301T100000Z-aa11.tar'),
      '.20240301T100000Z-aa11.tar.sha256.123.abcdef12.tmp',
      '20240301T100000Z-aa11.tar.0badcafe.verified',
      '20240301T100000Z-aa11.tar.bak',
      '20240301T100000Z-aa11.tgz',
      'notes.txt',
      'backup.tar',
      '20240301T100000Z-a-b.tar',
      '20240301T100000Z-aa11.TAR',
      'x.sha256',
      '.20240301T100000Z-aa11.tar',
    ];
    for (const name of names) await put(name);
    const folder = await readArchiveFolder(dir);
    expect(folder).toEqual({ archives: [], orphanChecksums: [], ignored: [] });
  });

  it('reports links, folders and pipes named like archives or checksums, and never follows them', async () => {
    await fs.writeFile(path.join(outside, 'secret.tar'), 'outside');
    await fs.symlink(path.join(outside, 'secret.tar'), path.join(dir, '20240301T100000Z-aa11.tar'));
    await fs.mkdir(path.join(dir, '20240302T100000Z-bb22.tar.gz'));
    await put('20240303T100000Z-cc33.tar');
    await fs.symlink(path.join(outside, 'secret.tar'), path.join(dir, '20240303T100000Z-cc33.tar.sha256'));
    await fs.symlink(path.join(outside, 'nowhere'), path.join(dir, '20240304T100000Z-dd44.tar.sha256'));
    const folder = await readArchiveFolder(dir);
    expect(folder.archives.map((a) => [a.name, a.checksum])).toEqual([['20240303T100000Z-cc33.tar', undefined]]);
    expect(folder.ignored.sort((a, b) => a.name.localeCompare(b.name))).toEqual([
      { name: '20240301T100000Z-aa11.tar', why: 'a symbolic link, not a regular file: never followed or removed' },
      { name: '20240302T100000Z-bb22.tar.gz', why: 'a folder, not a regular file: never followed or removed' },
      { name: '20240303T100000Z-cc33.tar.sha256', why: 'a symbolic link, not a regular file: never followed or removed' },
      { name: '20240304T100000Z-dd44.tar.sha256', why: 'a symbolic link, not a regular file: never followed or removed' },
    ]);
    expect(folder.orphanChecksums).toEqual([]);
  });

  it('reports a name shaped like an archive whose time is impossible', async () => {
    await put('20241301T100000Z-aa11.tar');
    await put('abc-def.tar.gz');
    const folder = await readArchiveFolder(dir);
    expect(folder.archives).toEqual([]);
    expect(folder.ignored.map((e) => e.name).sort()).toEqual(['20241301T100000Z-aa11.tar', 'abc-def.tar.gz']);
  });

  it('lists a checksum whose archive has no entry at all as an orphan, but not one beside a link', async () => {
    await put('20240301T100000Z-aa11.tar.gz.sha256');
    await put('20240302T100000Z-bb22.tar.sha256');
    await fs.symlink(path.join(outside, 'x'), path.join(dir, '20240302T100000Z-bb22.tar'));
    const folder = await readArchiveFolder(dir);
    expect(folder.orphanChecksums.map((o) => o.name)).toEqual(['20240301T100000Z-aa11.tar.gz.sha256']);
  });

  it('fails clearly on a folder it cannot read', async () => {
    await expect(readArchiveFolder(path.join(dir, 'missing'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('removeListedFile', () => {
  const listOne = async () => (await readArchiveFolder(dir)).archives[0];

  it('removes the listed regular file', async () => {
    await put('20240301T100000Z-aa11.tar');
    const archive = await listOne();
    expect(await removeListedFile(dir, archive)).toBe('removed');
    expect(await entryExists(dir, archive.name)).toBe(false);
  });

  it('says vanished when the file went away after the listing', async () => {
    await put('20240301T100000Z-aa11.tar');
    const archive = await listOne();
    await fs.unlink(path.join(dir, archive.name));
    expect(await removeListedFile(dir, archive)).toBe('vanished');
  });

  it('leaves a link put in the file’s place after the listing, and what it points to', async () => {
    await put('20240301T100000Z-aa11.tar');
    const archive = await listOne();
    await fs.writeFile(path.join(outside, 'keep-me'), 'outside');
    await fs.unlink(path.join(dir, archive.name));
    await fs.symlink(path.join(outside, 'keep-me'), path.join(dir, archive.name));
    expect(await removeListedFile(dir, archive)).toBe('changed');
    expect((await fs.lstat(path.join(dir, archive.name))).isSymbolicLink()).toBe(true);
    expect(await fs.readFile(path.join(outside, 'keep-me'), 'utf8')).toBe('outside');
  });

  it('leaves a different file put under the same name after the listing', async () => {
    await put('20240301T100000Z-aa11.tar', 'old');
    const archive = await listOne();
    await put('20240301T100000Z-aa11.tar.new', 'new');
    await fs.rename(path.join(dir, '20240301T100000Z-aa11.tar.new'), path.join(dir, archive.name));
    expect(await removeListedFile(dir, archive)).toBe('changed');
    expect(await fs.readFile(path.join(dir, archive.name), 'utf8')).toBe('new');
  });
});
