import { Controller, Delete, Get, HttpCode, Post, Query, Req, Res } from '@nestjs/common';
import {
  ApiBadGatewayResponse,
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiConsumes,
  ApiGatewayTimeoutResponse,
  ApiInternalServerErrorResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiResponse,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { ApiParams, REQUIRED_SNAPSHOT_NAME, SNAPSHOT_NAME, booleanParam, formatParam, param, requestParams } from '../common/params';
import { ErrorDto } from '../common/error.dto';
import { SnapshotCreatedDto, SnapshotDeletedDto, SnapshotListDto } from './dto/snapshot.dto';
import { SnapshotContentsDto } from './dto/snapshot-contents.dto';
import { SnapshotContents } from './snapshot-contents';
import { SnapshotsService } from './snapshots.service';
import { API_PATHS, ARCHIVE_FORMAT_NAMES } from '@prombackup/contract';

const SKIP_HEAD = param({ name: 'skip_head', required: false, type: Boolean, description: 'Leave out the in-memory head block' }, (raw, name) =>
  booleanParam(raw, name, false),
);
const DOWNLOAD_FORMAT = param({ name: 'download_format', required: false, enum: ARCHIVE_FORMAT_NAMES, description: 'Format for the Location link' }, formatParam);

@ApiTags('snapshots')
@Controller()
export class SnapshotsController {
  constructor(
    private readonly snapshots: SnapshotsService,
    private readonly contents: SnapshotContents,
  ) {}

  @Post(API_PATHS.snapshot)
  @HttpCode(303)
  @ApiOperation({
    operationId: 'createSnapshot',
    summary: 'Ask Prometheus for a snapshot',
    description:
      'Parameters come from the query string or a urlencoded form. Answers 303 with Location ./download?name=…, so a browser form turns straight into a download.',
  })
  @ApiConsumes('application/x-www-form-urlencoded')
  @ApiParams(DOWNLOAD_FORMAT, SKIP_HEAD)
  @ApiResponse({
    status: 303,
    description: 'Snapshot taken',
    type: SnapshotCreatedDto,
    headers: { Location: { description: './download?name=<name>[&format=<download_format>]', schema: { type: 'string' } } },
  })
  @ApiBadRequestResponse({ description: 'A parameter has a bad value', type: ErrorDto })
  @ApiBadGatewayResponse({ description: 'Prometheus refused or answered nonsense', type: ErrorDto })
  @ApiServiceUnavailableResponse({ description: 'Prometheus cannot be reached, or the server is shutting down', type: ErrorDto })
  @ApiGatewayTimeoutResponse({ description: 'Prometheus did not answer in time', type: ErrorDto })
  async create(@Req() req: Request, @Res({ passthrough: true }) res: Response): Promise<SnapshotCreatedDto> {
    const params = requestParams(req.query, req.body);
    const skipHead = SKIP_HEAD.read(params);
    const format = DOWNLOAD_FORMAT.read(params);
    // 'close' before the answer is written means the client hung up while Prometheus worked.
    const requester = new AbortController();
    res.once('close', () => requester.abort());
    const name = await this.snapshots.create(skipHead, requester.signal);
    const query = new URLSearchParams({ name, ...(format ? { format } : {}) });
    res.location(`./download?${query}`);
    return { name };
  }

  @Delete(API_PATHS.snapshot)
  @ApiOperation({
    operationId: 'deleteSnapshot',
    summary: 'Remove one snapshot folder',
    description: 'Refused with 409 while a download streams it. The name follows the same rules as for a download.',
  })
  @ApiParams(SNAPSHOT_NAME)
  @ApiOkResponse({ type: SnapshotDeletedDto })
  @ApiBadRequestResponse({ description: 'The name is not a snapshot folder name', type: ErrorDto })
  @ApiNotFoundResponse({ description: 'No name given, or no such snapshot', type: ErrorDto })
  @ApiConflictResponse({ description: 'A download is streaming this snapshot', type: ErrorDto })
  @ApiServiceUnavailableResponse({ description: 'snapshot_dir cannot be read or written', type: ErrorDto })
  async remove(@Query() query: Record<string, unknown>): Promise<SnapshotDeletedDto> {
    const name = SNAPSHOT_NAME.read(query);
    await this.snapshots.remove(name);
    return { name };
  }

  @Get(API_PATHS.snapshots)
  @ApiOperation({ operationId: 'listSnapshots', summary: 'The snapshot folders on disk' })
  @ApiOkResponse({ type: SnapshotListDto })
  async list(): Promise<SnapshotListDto> {
    return { snapshots: await this.snapshots.list() };
  }

  @Get(API_PATHS.snapshotContents)
  @ApiOperation({
    operationId: 'snapshotContents',
    summary: "A snapshot's blocks and other top-level entries",
    description:
      'Each block (a folder named by its ULID whose meta.json names the same ULID) with its time range, stats and files; ' +
      'every other top-level entry by name, type and size. Links are listed, never followed.',
  })
  @ApiParams(REQUIRED_SNAPSHOT_NAME)
  @ApiOkResponse({ type: SnapshotContentsDto })
  @ApiBadRequestResponse({ description: 'No name given, or it is not a snapshot folder name', type: ErrorDto })
  @ApiNotFoundResponse({ description: 'No such snapshot', type: ErrorDto })
  @ApiInternalServerErrorResponse({ description: 'A part of the snapshot cannot be read, or changed while it was read', type: ErrorDto })
  @ApiServiceUnavailableResponse({ description: 'snapshot_dir cannot be read', type: ErrorDto })
  async snapshotContents(@Query() query: Record<string, unknown>): Promise<SnapshotContentsDto> {
    return this.contents.ofSnapshot(REQUIRED_SNAPSHOT_NAME.read(query));
  }
}
