import { ApiProperty } from '@nestjs/swagger';

export class HealthDto {
  @ApiProperty()
  ok!: boolean;

  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'string' },
    description: 'Each check and its result, "ok" or what is wrong',
    example: { snapshot_dir: 'ok', prometheus: 'ok' },
  })
  checks!: Record<string, string>;
}
