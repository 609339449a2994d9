import { ApiProperty } from '@nestjs/swagger';

export class DownloadOutcomeDto {
  @ApiProperty({ description: 'Whether the whole archive was sent' })
  success!: boolean;

  @ApiProperty({ type: String, nullable: true, description: 'What went wrong, when it failed' })
  error_text!: string | null;

  @ApiProperty({ description: 'SHA-256 of the exact bytes sent, hex', example: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' })
  sha256_hex!: string;
}

export class DownloadStatusDto {
  @ApiProperty({ description: 'Download id, from the X-Prombackup-Download-Id header' })
  id!: string;

  @ApiProperty({ example: '20221109T202035Z-355a5b4970d5a906' })
  snapshot_name!: string;

  @ApiProperty({ type: DownloadOutcomeDto, nullable: true, description: 'null while the archive is still streaming' })
  finished!: DownloadOutcomeDto | null;
}
