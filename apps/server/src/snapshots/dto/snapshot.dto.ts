import { ApiProperty } from '@nestjs/swagger';
import { ARCHIVE_FORMAT_NAMES } from '@prombackup/contract';

export class CreateSnapshotQueryDto {
  @ApiProperty({
    required: false,
    type: Boolean,
    default: false,
    description: "Leave out the in-memory head block (data of the last hours not yet written to a block)",
  })
  skip_head?: boolean;

  @ApiProperty({
    required: false,
    enum: ARCHIVE_FORMAT_NAMES,
    description: 'Format to put into the Location of the answer, so a browser form turns into a download',
  })
  download_format?: string;
}

export class SnapshotCreatedDto {
  @ApiProperty({ example: '20221109T202035Z-355a5b4970d5a906', description: 'Name of the new snapshot folder' })
  name!: string;
}

export class SnapshotDeletedDto {
  @ApiProperty({ example: '20221109T202035Z-355a5b4970d5a906', description: 'Name of the snapshot folder that was removed' })
  name!: string;
}

export class SnapshotInfoDto {
  @ApiProperty({ example: '20221109T202035Z-355a5b4970d5a906' })
  name!: string;

  @ApiProperty({
    type: String,
    format: 'date-time',
    nullable: true,
    description: 'Creation time read from the folder name',
  })
  created_at!: string | null;

  @ApiProperty({ description: 'Bytes of all regular files in the snapshot' })
  size_bytes!: number;

  @ApiProperty({ description: 'Whether a download is streaming this snapshot right now' })
  in_use!: boolean;
}

export class SnapshotListDto {
  @ApiProperty({ type: [SnapshotInfoDto] })
  snapshots!: SnapshotInfoDto[];
}
