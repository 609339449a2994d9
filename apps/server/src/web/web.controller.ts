import { BadRequestException, Controller, Get, Header, HttpCode, HttpStatus, Post, Redirect, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { DEFAULT_KEEP_WITHIN } from '@prombackup/contract';
import type { Request, Response } from 'express';
import { durationParam, requestParams } from '../common/params';
import { ServerConfig } from '../config/server-config';
import { VERSION } from '../config/version';
import { DownloadRegistry } from '../downloads/download-registry';
import { HealthService } from '../health/health.service';
import { PrometheusStatus } from '../prometheus/prometheus-status';
import { PruneService } from '../prune/prune.service';
import { SnapshotUsage } from '../snapshots/snapshot-usage';
import { SnapshotsService } from '../snapshots/snapshots.service';
import { FAVICON_SVG, type PageModel, renderPage } from './page';

const RECENT_DOWNLOADS = 20;

/** The page needs nothing but its own inline styles, a data: icon and forms posting back here. */
const PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/** The human side of the API: one page of plain forms. */
@ApiExcludeController()
@Controller()
export class WebController {
  constructor(
    private readonly snapshots: SnapshotsService,
    private readonly downloads: DownloadRegistry,
    private readonly pruneService: PruneService,
    private readonly usage: SnapshotUsage,
    private readonly health: HealthService,
    private readonly prometheus: PrometheusStatus,
    private readonly config: ServerConfig,
  ) {}

  @Get()
  @Header('Content-Type', 'text/html; charset=utf-8')
  @Header('Cache-Control', 'no-store')
  @Header('Content-Security-Policy', PAGE_CSP)
  async page(): Promise<string> {
    return this.render();
  }

  /** Browsers ask for it on every page without an icon of its own, the JSON answers included. */
  @Get('favicon.ico')
  @Header('Content-Type', 'image/svg+xml')
  @Header('Cache-Control', 'public, max-age=86400')
  favicon(): string {
    return FAVICON_SVG;
  }

  /** The prune result page lives at ./prune; reopening that address (not re-posting) leads back to the page. */
  @Get('prune')
  @Redirect('./', HttpStatus.SEE_OTHER)
  pruneAddress(): void {}

  @Post('prune')
  @Header('Content-Security-Policy', PAGE_CSP)
  @HttpCode(200)
  @Header('Content-Type', 'text/html; charset=utf-8')
  @Header('Cache-Control', 'no-store')
  async prune(@Req() req: Request, @Res({ passthrough: true }) res: Response): Promise<string> {
    const params = requestParams(req.query, req.body);
    const typed = typeof params.keep_within === 'string' && params.keep_within !== '' ? params.keep_within : undefined;
    let keepWithinMs: number;
    try {
      keepWithinMs = durationParam(params.keep_within, 'keep_within', DEFAULT_KEEP_WITHIN);
    } catch (err) {
      if (!(err instanceof BadRequestException)) throw err;
      // A person typed it: answer with the page and what was wrong, not a JSON error.
      res.status(HttpStatus.BAD_REQUEST);
      return this.render({ error: `Nothing pruned: ${err.message}.`, keepWithin: typed });
    }
    const result = await this.pruneService.prune(keepWithinMs, 'request');
    const notice = result.removed.length
      ? `Removed ${result.removed.length} snapshot(s): ${result.removed.join(', ')}.`
      : 'Nothing to remove.';
    const kept = result.skipped_in_use.length ? ` Kept ${result.skipped_in_use.join(', ')}: being streamed.` : '';
    return this.render({ notice: notice + kept, keepWithin: typed });
  }

  private async render(extra: Pick<PageModel, 'notice' | 'error' | 'keepWithin'> = {}): Promise<string> {
    const [snapshots, usage, readiness, prometheus] = await Promise.all([
      this.snapshots.list(),
      // The page still shows the rest when snapshot_dir cannot be walked (readiness says why).
      this.usage.report({ fresh: true }).catch(() => undefined),
      this.health.readiness(),
      this.prometheus.check(),
    ]);
    const { autoprune, autopruneIntervalMs, autopruneKeepWithinMs } = this.config;
    return renderPage({
      version: VERSION,
      snapshots,
      usage,
      downloads: this.downloads.recent(RECENT_DOWNLOADS),
      state: {
        checks: readiness.checks,
        adminApi: prometheus.adminApi,
        autoprune: autoprune ? { intervalMs: autopruneIntervalMs, keepWithinMs: autopruneKeepWithinMs } : undefined,
      },
      now: Date.now(),
      ...extra,
    });
  }
}
