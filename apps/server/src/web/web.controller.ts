import { Controller, Get, Header, HttpCode, Post, Req } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { DEFAULT_KEEP_WITHIN } from '@prombackup/contract';
import type { Request } from 'express';
import { durationParam, requestParams } from '../common/params';
import { VERSION } from '../config/version';
import { DownloadRegistry } from '../downloads/download-registry';
import { PruneService } from '../prune/prune.service';
import { SnapshotsService } from '../snapshots/snapshots.service';
import { renderPage } from './page';

const RECENT_DOWNLOADS = 20;

/** The human side of the API: one page of plain forms. */
@ApiExcludeController()
@Controller()
export class WebController {
  constructor(
    private readonly snapshots: SnapshotsService,
    private readonly downloads: DownloadRegistry,
    private readonly pruneService: PruneService,
  ) {}

  @Get()
  @Header('Content-Type', 'text/html; charset=utf-8')
  @Header('Cache-Control', 'no-store')
  async page(): Promise<string> {
    return this.render();
  }

  @Post('prune')
  @HttpCode(200)
  @Header('Content-Type', 'text/html; charset=utf-8')
  async prune(@Req() req: Request): Promise<string> {
    const params = requestParams(req.query, req.body);
    const keepWithinMs = durationParam(params.keep_within, 'keep_within', DEFAULT_KEEP_WITHIN);
    const result = await this.pruneService.prune(keepWithinMs, 'request');
    const notice = result.removed.length
      ? `Removed ${result.removed.length} snapshot(s): ${result.removed.join(', ')}.`
      : 'Nothing to remove.';
    const kept = result.skipped_in_use.length ? ` Kept ${result.skipped_in_use.join(', ')}: being streamed.` : '';
    return this.render(notice + kept);
  }

  private async render(notice?: string): Promise<string> {
    return renderPage({
      version: VERSION,
      snapshots: await this.snapshots.list(),
      downloads: this.downloads.recent(RECENT_DOWNLOADS),
      notice,
    });
  }
}
