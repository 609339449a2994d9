import { ApiProperty } from '@nestjs/swagger';

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
