import { randomBytes } from 'node:crypto';
import { readlinkSync } from 'node:fs';
import os from 'node:os';

/**
 * Who wrote a partial download, as recorded in its name. Pids only mean something within one
 * pid namespace: two containers can share a host name (host networking) but not a namespace.
 */
export interface PartialOwner {
  host: string;
  pidNamespace: string;
  pid: number;
}

/** This process as the owner of the partial files it writes. */
export function currentOwner(): PartialOwner {
  // No dots, so a partial's name splits back into its parts without ambiguity (see parsePartialName).
  const host = os.hostname().replace(/[^A-Za-z0-9-]/g, '_').slice(0, 64) || 'unknown';
  return { host, pidNamespace: pidNamespace(), pid: process.pid };
}

function pidNamespace(): string {
  try {
    // "pid:[4026531836]"
    return /\[(\d+)\]/.exec(readlinkSync('/proc/self/ns/pid'))?.[1] ?? '0';
  } catch {
    return '0';
  }
}

/** A fresh hidden name for the partial download of a file named `base`: `.BASE.HOST.PID-NS.RAND.partial`. */
export function partialName(base: string, owner: PartialOwner = currentOwner()): string {
  return `.${base}.${owner.host}.${owner.pid}-${owner.pidNamespace}.${randomBytes(4).toString('hex')}.partial`;
}

/**
 * The owner recorded in `name` when it is the name of a partial download of a file named
 * `base`, else undefined. The last three dot-separated fields never hold a dot, so a partial of
 * "a.tar.x" is never taken for one of "a.tar" or the other way round.
 */
export function parsePartialName(name: string, base: string): PartialOwner | undefined {
  const prefix = `.${base}.`;
  const suffix = '.partial';
  if (!name.startsWith(prefix) || !name.endsWith(suffix) || name.length <= prefix.length + suffix.length) return undefined;
  const middle = name.slice(prefix.length, -suffix.length);
  const m = /^([A-Za-z0-9_-]{1,64})\.([1-9]\d{0,9})-(\d{1,20})\.[0-9a-f]{8}$/.exec(middle);
  return m ? { host: m[1], pid: Number(m[2]), pidNamespace: m[3] } : undefined;
}

/** The file name a partial download was for, read from the partial's own name; undefined for other names. */
export function partialBase(name: string): string | undefined {
  return /^\.(.+)\.[A-Za-z0-9_-]{1,64}\.[1-9]\d{0,9}-\d{1,20}\.[0-9a-f]{8}\.partial$/.exec(name)?.[1];
}
