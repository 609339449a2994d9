import { BadRequestException, NotFoundException, applyDecorators } from '@nestjs/common';
import { ApiQuery, type ApiQueryOptions } from '@nestjs/swagger';
import {
  ARCHIVE_FORMAT_NAMES,
  type ArchiveFormat,
  BLOCK_LIST_SEPARATOR,
  BLOCK_ULID_PATTERN,
  DEFAULT_ARCHIVE_FORMAT,
  isArchiveFormat,
  isBlockUlid,
  isSnapshotName,
  parseBoolean,
  parseDuration,
} from '@prombackup/contract';

/** A request parameter: how the spec describes it and how its value is read, in one definition. */
export interface Param<T> {
  readonly doc: ApiQueryOptions & { name: string };
  /** Its value among a request's parameters; throws a 4xx naming it when the value is bad. */
  read(params: Record<string, unknown>): T;
}

export function param<T>(doc: Param<T>['doc'], read: (raw: unknown, name: string) => T): Param<T> {
  return { doc, read: (params) => read(params[doc.name], doc.name) };
}

/** Describes the parameters in the spec, in the order given. */
export function ApiParams(...params: Param<unknown>[]): MethodDecorator {
  return applyDecorators(...params.map((p) => ApiQuery(p.doc)));
}

/**
 * Parameters from the query string and a urlencoded body together; a name found in both
 * counts as repeated.
 */
export function requestParams(query: unknown, body: unknown): Record<string, unknown> {
  const params: Record<string, unknown> = { ...asRecord(query) };
  for (const [key, value] of Object.entries(asRecord(body))) {
    params[key] = key in params ? [params[key], value].flat() : value;
  }
  return params;
}

function asRecord(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/**
 * Refuses parameters other than `known`. For requests that remove things: a misspelt name
 * (keep-within, as the CLI's flag is spelt) would otherwise leave its default in force.
 */
export function refuseUnknownParams(params: Record<string, unknown>, ...known: Param<unknown>[]): void {
  const names = new Set(known.map((p) => p.doc.name));
  const unknown = Object.keys(params).filter((name) => !names.has(name));
  if (unknown.length > 0) {
    throw new BadRequestException(`unknown parameter ${unknown.slice(0, 5).map(quote).join(', ')}; this request takes ${[...names].join(', ')}`);
  }
}

/** A parameter's one value; undefined when absent or empty (plain HTML forms send empty fields). */
export function singleParam(raw: unknown, name: string): string | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (Array.isArray(raw)) throw new BadRequestException(`parameter ${name} is given more than once`);
  if (typeof raw !== 'string') throw new BadRequestException(`parameter ${name} must be a plain value`);
  return raw === '' ? undefined : raw;
}

/**
 * The snapshot a request names, by the download's rules (kept from the Go original): missing is
 * 404 (which snapshot?), a name that is not a plain snapshot folder name is 400. GET /api/download
 * and DELETE /api/snapshot both take it.
 */
export const SNAPSHOT_NAME = param({ name: 'name', required: true, type: String, description: 'Snapshot folder name' }, (raw, name) =>
  snapshotName(raw, name, () => new NotFoundException(`parameter ${name} is missing: which snapshot?`)),
);

/** The same name for endpoints new to this server, where a missing name is a bad request (400) like any other. */
export const REQUIRED_SNAPSHOT_NAME = param({ name: 'name', required: true, type: String, description: 'Snapshot folder name' }, (raw, name) =>
  snapshotName(raw, name, () => new BadRequestException(`parameter ${name} is missing: which snapshot?`)),
);

function snapshotName(raw: unknown, name: string, missing: () => Error): string {
  const text = singleParam(raw, name);
  if (text === undefined) throw missing();
  if (!isSnapshotName(text)) {
    throw new BadRequestException(`parameter ${name} must be a snapshot folder name like 20221109T202035Z-355a5b4970d5a906, not ${quote(text)}`);
  }
  return text;
}

/**
 * Block ULIDs, comma-separated, each once: the blocks a download is limited to. Absent means the
 * whole snapshot; present it must list at least one.
 */
const ULID = BLOCK_ULID_PATTERN.source.replace(/^\^|\$$/g, '');

export const BLOCKS = param(
  {
    name: 'blocks',
    required: false,
    type: String,
    description:
      'Comma-separated block ULIDs (as listed by snapshot_contents): the archive holds only these blocks. Each must be a block of the snapshot.',
    example: '01HXYZ0123456789ABCDEFGHJK,01HXZ00123456789ABCDEFGHJK',
    pattern: `^${ULID}(,${ULID})*$`,
  },
  (raw, name) => {
    if (raw === '') throw new BadRequestException(`parameter ${name} is empty: list at least one block ULID, or leave it out for the whole snapshot`);
    const text = singleParam(raw, name);
    if (text === undefined) return undefined;
    const ulids = text.split(BLOCK_LIST_SEPARATOR);
    const malformed = ulids.filter((ulid) => !isBlockUlid(ulid));
    if (malformed.length > 0) {
      throw new BadRequestException(
        `parameter ${name} must list block ULIDs (26 characters of Crockford base32, upper case) separated by commas; not ULIDs: ${malformed.slice(0, 5).map(quote).join(', ')}${malformed.length > 5 ? ', …' : ''}`,
      );
    }
    const repeated = ulids.filter((ulid, i) => ulids.indexOf(ulid) !== i);
    if (repeated.length > 0) throw new BadRequestException(`parameter ${name} lists ${[...new Set(repeated)].join(', ')} more than once`);
    return ulids;
  },
);

export function booleanParam(raw: unknown, name: string, fallback: boolean): boolean {
  const text = singleParam(raw, name);
  if (text === undefined) return fallback;
  const value = parseBoolean(text);
  if (value === undefined) {
    throw new BadRequestException(`parameter ${name} must be a boolean (true, false, 1, 0, t, f), not ${quote(text)}`);
  }
  return value;
}

/** A non-negative Go duration in milliseconds. */
export function durationParam(raw: unknown, name: string, fallback: string): number {
  const text = singleParam(raw, name) ?? fallback;
  let ms: number;
  try {
    ms = parseDuration(text);
  } catch (err) {
    throw new BadRequestException(`parameter ${name}: ${(err as Error).message}`);
  }
  if (ms < 0) throw new BadRequestException(`parameter ${name} must not be negative, got ${quote(text)}`);
  return ms;
}

export function formatParam(raw: unknown, name: string): ArchiveFormat | undefined {
  const text = singleParam(raw, name);
  if (text === undefined) return undefined;
  if (!isArchiveFormat(text)) {
    throw new BadRequestException(`parameter ${name} must be one of ${ARCHIVE_FORMAT_NAMES.join(', ')}, not ${quote(text)}`);
  }
  return text;
}

export function formatOrDefault(raw: unknown, name: string): ArchiveFormat {
  return formatParam(raw, name) ?? DEFAULT_ARCHIVE_FORMAT;
}

/** Quotes user input for an error message, shortened so a huge value cannot bloat the answer. */
export function quote(text: string): string {
  return JSON.stringify(text.length > 64 ? `${text.slice(0, 64)}…` : text);
}
