import { ApiProperty } from '@nestjs/swagger';

export const OTHER_ENTRY_TYPES = ['file', 'directory', 'other'] as const;
export type OtherEntryType = (typeof OTHER_ENTRY_TYPES)[number];

export class BlockFileDto {
  @ApiProperty({ example: 'chunks/000001', description: "Path relative to the block folder, '/'-separated" })
  path!: string;

  @ApiProperty({ description: 'Bytes', example: 1234 })
  size!: number;

  @ApiProperty({ description: 'Modification time, milliseconds since the epoch (whole milliseconds, rounded down)', example: 1700000000123 })
  mtime_ms!: number;
}

export class BlockDto {
  @ApiProperty({ example: '01HXYZ0123456789ABCDEFGHJK', description: 'Block ULID: the folder name, equal to the ulid in its meta.json' })
  ulid!: string;

  @ApiProperty({ description: 'minTime from meta.json, milliseconds since the epoch', example: 1700000000000 })
  min_time!: number;

  @ApiProperty({ description: 'maxTime from meta.json (exclusive), milliseconds since the epoch', example: 1700007200000 })
  max_time!: number;

  @ApiProperty({ description: 'stats.numSeries from meta.json (0 if absent)' })
  num_series!: number;

  @ApiProperty({ description: 'stats.numSamples from meta.json (0 if absent)' })
  num_samples!: number;

  @ApiProperty({ description: 'stats.numChunks from meta.json (0 if absent)' })
  num_chunks!: number;

  @ApiProperty({ description: 'compaction.level from meta.json (0 if absent)' })
  compaction_level!: number;

  @ApiProperty({ description: 'Sum of the sizes of its files' })
  bytes!: number;

  @ApiProperty({ type: [BlockFileDto], description: 'Its regular files, sorted by path' })
  files!: BlockFileDto[];
}

export class OtherEntryDto {
  @ApiProperty({ example: 'chunks_head', description: 'Name in the snapshot folder; bytes that are not UTF-8 are shown as \\xNN' })
  name!: string;

  @ApiProperty({ enum: OTHER_ENTRY_TYPES, enumName: 'OtherEntryType', description: 'other: a link, device, pipe or socket (never followed)' })
  type!: OtherEntryType;

  @ApiProperty({ description: 'Bytes of a file; for a folder the bytes of the regular files below it; 0 otherwise' })
  size!: number;
}

export class SnapshotContentsDto {
  @ApiProperty({ example: '20221109T202035Z-355a5b4970d5a906' })
  name!: string;

  @ApiProperty({ type: [BlockDto], description: 'The TSDB blocks, sorted by ULID' })
  blocks!: BlockDto[];

  @ApiProperty({ type: [OtherEntryDto], description: 'Every other top-level entry, sorted by name' })
  other!: OtherEntryDto[];
}
