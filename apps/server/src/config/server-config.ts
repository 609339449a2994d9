import type { LogFormat, LogLevel, Settings } from './settings';

/** The parsed settings, injectable by class. Built once in main.ts (or by a test). */
export class ServerConfig implements Settings {
  readonly listenHost!: string | undefined;
  readonly listenPort!: number;
  readonly prometheusEndpoint!: string;
  readonly prometheusTimeoutMs!: number;
  readonly snapshotDir!: string;
  readonly autoprune!: boolean;
  readonly autopruneIntervalMs!: number;
  readonly autopruneKeepWithinMs!: number;
  readonly maxConcurrentDownloads!: number;
  readonly downloadIdleTimeoutMs!: number;
  readonly shutdownGraceMs!: number;
  readonly authToken!: string | undefined;
  readonly logLevel!: LogLevel;
  readonly logFormat!: LogFormat;

  constructor(settings: Settings) {
    Object.assign(this, settings);
  }
}
