import { ApiProperty } from '@nestjs/swagger';

/** Shape of every error answer. */
export class ErrorDto {
  @ApiProperty({ example: 400 })
  statusCode!: number;

  @ApiProperty({ example: 'Bad Request' })
  error!: string;

  @ApiProperty({ example: 'parameter format must be one of tar, tgz, tzst, not "zip"' })
  message!: string;
}
