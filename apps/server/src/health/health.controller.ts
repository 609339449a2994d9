import { Controller, Get, HttpStatus, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { HealthService } from './health.service';
import { HealthDto } from './dto/health.dto';

@ApiTags('operations')
@Controller()
export class HealthController {
  constructor(private readonly health: HealthService) {}

  @Get('healthz')
  @ApiOperation({ operationId: 'healthz', summary: 'The process is alive' })
  @ApiOkResponse({ type: HealthDto })
  live(): HealthDto {
    return { ok: true, checks: {} };
  }

  @Get('readyz')
  @ApiOperation({ operationId: 'readyz', summary: 'Ready to take backups: Prometheus answers with its admin API on, snapshot_dir can be read and written' })
  @ApiOkResponse({ type: HealthDto })
  @ApiServiceUnavailableResponse({ type: HealthDto })
  async ready(@Res({ passthrough: true }) res: Response): Promise<HealthDto> {
    const result = await this.health.readiness();
    if (!result.ok) res.status(HttpStatus.SERVICE_UNAVAILABLE);
    return result;
  }
}
