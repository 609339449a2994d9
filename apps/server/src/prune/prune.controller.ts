import { Controller, HttpCode, Post, Req } from '@nestjs/common';
import { ApiBadRequestResponse, ApiConsumes, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { API_PATHS, DEFAULT_KEEP_WITHIN } from '@prombackup/contract';
import type { Request } from 'express';
import { ErrorDto } from '../common/error.dto';
import { ApiParams, durationParam, param, refuseUnknownParams, requestParams } from '../common/params';
import { PruneResultDto } from './dto/prune.dto';
import { PruneService } from './prune.service';

const KEEP_WITHIN = param(
  {
    name: 'keep_within',
    required: false,
    type: String,
    description: `Go duration such as 1h, 12h, 90m; snapshots younger than this are kept (default ${DEFAULT_KEEP_WITHIN})`,
  },
  (raw, name) => durationParam(raw, name, DEFAULT_KEEP_WITHIN),
);

@ApiTags('snapshots')
@Controller()
export class PruneController {
  constructor(private readonly pruneService: PruneService) {}

  @Post(API_PATHS.prune)
  @HttpCode(200)
  @ApiOperation({
    operationId: 'prune',
    summary: 'Remove snapshots older than keep_within',
    description: 'Never removes a snapshot being streamed, nor anything that is not a snapshot folder.',
  })
  @ApiConsumes('application/x-www-form-urlencoded')
  @ApiParams(KEEP_WITHIN)
  @ApiOkResponse({ type: PruneResultDto })
  @ApiBadRequestResponse({ description: 'keep_within is not a duration, or negative; or another parameter was given', type: ErrorDto })
  async prune(@Req() req: Request): Promise<PruneResultDto> {
    const params = requestParams(req.query, req.body);
    refuseUnknownParams(params, KEEP_WITHIN);
    const keepWithinMs = KEEP_WITHIN.read(params);
    return this.pruneService.prune(keepWithinMs, 'request');
  }
}
