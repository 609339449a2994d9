import fs from 'node:fs/promises';
import path from 'node:path';
import { Errors } from '@oclif/core';
import { exists } from './atomic-file';

export type OutputKind = 'folder' | 'stream' | 'file';

/**
 * What --output names. A folder gets the server's file name inside it. A character device or
 * a named pipe (/dev/null, a tape, a FIFO another program reads) is written into as it is:
 * renaming a finished file onto it would replace the device or pipe itself.
 */
export async function outputKind(output: string | undefined): Promise<OutputKind> {
  if (output === undefined) return 'folder';
  const stats = await fs.stat(output).catch(() => undefined);
  if (!stats && output.endsWith('/')) Errors.error(`folder ${path.resolve(output)} does not exist`, { exit: 1 });
  if (!stats || stats.isFile()) return 'file';
  if (stats.isDirectory()) return 'folder';
  if (stats.isCharacterDevice() || stats.isFIFO()) return 'stream';
  const what = stats.isBlockDevice() ? 'a block device' : stats.isSocket() ? 'a socket' : 'not a file';
  Errors.error(`${path.resolve(output)} is ${what}; write the archive to a file, a folder, a character device or a named pipe`, { exit: 2 });
}

/** Refuses a target that exists (unless `force`) or whose folder does not. */
export async function checkTarget(target: string, force: boolean): Promise<void> {
  if (!force && (await exists(target))) Errors.error(`${target} already exists; not overwriting it (use --force)`, { exit: 1 });
  if (!(await exists(path.dirname(target)))) Errors.error(`folder ${path.dirname(target)} does not exist`, { exit: 1 });
}
