import { BadRequestException, Controller, Get, NotFoundException, Query, Res } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProduces,
  ApiTags,
  ApiTooManyRequestsResponse,
} from '@nestjs/swagger';
import {
  API_PATHS,
  ARCHIVE_FORMAT_NAMES,
  ARCHIVE_FORMATS,
  type ArchiveFormat,
  COMPRESSION_LEVELS,
  DOWNLOAD_ID_HEADER,
  SNAPSHOT_BYTES_HEADER,
  compressionLevelProblem,
} from '@prombackup/contract';
import type { Response } from 'express';
import { ErrorDto } from '../common/error.dto';
import { ApiParams, BLOCKS, SNAPSHOT_NAME, formatOrDefault, param, quote, singleParam } from '../common/params';
import { DownloadRegistry } from './download-registry';
import { DownloadsService } from './downloads.service';
import { DownloadStatusDto } from './dto/download.dto';

const archiveContent = Object.fromEntries(
  Object.values(ARCHIVE_FORMATS).map((f) => [f.contentType, { schema: { type: 'string', format: 'binary' } }]),
);

const FORMAT = param({ name: 'format', required: false, enum: ARCHIVE_FORMAT_NAMES, description: 'Archive format (default tar)' }, formatOrDefault);
const LEVEL = param(
  {
    name: 'level',
    required: false,
    type: Number,
    description: `Compression level: tgz ${COMPRESSION_LEVELS.tgz.min}-${COMPRESSION_LEVELS.tgz.max} (default ${COMPRESSION_LEVELS.tgz.default}), tzst ${COMPRESSION_LEVELS.tzst.min}-${COMPRESSION_LEVELS.tzst.max} (default ${COMPRESSION_LEVELS.tzst.default})`,
  },
  singleParam,
);
const ID = param({ name: 'id', required: true, type: String }, singleParam);

@ApiTags('downloads')
@Controller()
export class DownloadsController {
  constructor(
    private readonly downloads: DownloadsService,
    private readonly registry: DownloadRegistry,
  ) {}

  @Get(API_PATHS.download)
  @ApiOperation({
    operationId: 'download',
    summary: 'Stream a snapshot as an archive',
    description: 'The archive is built while it is sent. Its outcome and SHA-256 are kept under the id in X-Prombackup-Download-Id.',
  })
  @ApiParams(BLOCKS, LEVEL, FORMAT, SNAPSHOT_NAME)
  @ApiProduces(...Object.values(ARCHIVE_FORMATS).map((f) => f.contentType))
  @ApiOkResponse({
    description: 'The archive',
    content: archiveContent,
    headers: {
      [DOWNLOAD_ID_HEADER]: { description: 'Id for GET /api/download_status', schema: { type: 'string' } },
      [SNAPSHOT_BYTES_HEADER]: { description: "Bytes of the snapshot's files, for a progress total (tar: a little more, compressed: less)", schema: { type: 'integer' } },
      'Content-Disposition': { description: 'attachment; filename="<name>.tar|.tar.gz|.tar.zst"', schema: { type: 'string' } },
    },
  })
  @ApiBadRequestResponse({ description: 'Bad name, format, level or blocks, or a block the snapshot does not have', type: ErrorDto })
  @ApiNotFoundResponse({ description: 'No name given, or no such snapshot', type: ErrorDto })
  @ApiTooManyRequestsResponse({ description: 'Too many downloads at once; see Retry-After', type: ErrorDto })
  async download(@Query() query: Record<string, unknown>, @Res() res: Response): Promise<void> {
    const name = SNAPSHOT_NAME.read(query);
    const format = FORMAT.read(query);
    const level = levelFor(LEVEL.read(query), format);
    const blocks = BLOCKS.read(query);
    await this.downloads.stream({ name, format, level, blocks }, res);
  }

  @Get(API_PATHS.downloadStatus)
  @ApiOperation({ operationId: 'downloadStatus', summary: "A download's outcome and the SHA-256 of what was sent" })
  @ApiParams(ID)
  @ApiOkResponse({ type: DownloadStatusDto })
  @ApiNotFoundResponse({ description: 'Unknown id, or its status has expired (15 minutes)', type: ErrorDto })
  status(@Query() query: Record<string, unknown>): DownloadStatusDto {
    const id = ID.read(query);
    const record = id === undefined || id.length > 100 ? undefined : this.registry.get(id);
    if (!record) throw new NotFoundException(id === undefined ? 'parameter id is missing' : `no download with id ${quote(id)}`);
    return { id: record.id, snapshot_name: record.snapshotName, finished: record.outcome };
  }
}

/** The level's text checked against the format it is for. */
function levelFor(text: string | undefined, format: ArchiveFormat): number | undefined {
  if (text === undefined) return undefined;
  const problem = /^\d{1,2}$/.test(text) ? compressionLevelProblem(format, Number(text)) : compressionLevelProblem(format, NaN);
  if (problem) throw new BadRequestException(`parameter ${problem}, not ${quote(text)}`);
  return Number(text);
}
