import { withoutPassword } from './setting-parsers';
import type { Settings } from './settings';

/** The parsed settings, injectable by class: its fields are those of Settings. Built once in main.ts (or by a test). */
export interface ServerConfig extends Readonly<Settings> {}

export class ServerConfig {
  constructor(settings: Settings) {
    Object.assign(this, settings);
  }

  /** prometheus_endpoint for logs, answers and the page: a password in it is sent to Prometheus, never shown. */
  get prometheusEndpointShown(): string {
    return withoutPassword(this.prometheusEndpoint);
  }
}
