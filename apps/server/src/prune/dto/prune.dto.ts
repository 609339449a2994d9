import { ApiProperty } from '@nestjs/swagger';

export class PruneResultDto {
  @ApiProperty({ type: [String], description: 'Snapshot folders removed' })
  removed!: string[];

  @ApiProperty({ type: [String], description: 'Old snapshot folders kept because a download is streaming them' })
  skipped_in_use!: string[];
}
