import { Command } from '@oclif/core';
import { type ErrorJson, errorJson } from '../error-json';

export interface VersionInfo {
  version: string;
  node: string;
  platform: string;
}

/** `prombackup version`: the same as --version, and as data with --json. */
export default class Version extends Command {
  static override summary = "Show prombackup's version.";
  static override enableJsonFlag = true;

  /** A failure under --json: message and exit code only (see errorJson). */
  protected override toErrorJson(err: unknown): ErrorJson {
    return errorJson(err);
  }

  async run(): Promise<VersionInfo> {
    await this.parse(Version);
    const info = { version: this.config.version, node: process.versions.node, platform: `${this.config.platform}-${this.config.arch}` };
    // As --version prints it, under the name people type (the package is prombackup-cli).
    this.log(`${this.config.bin}/${info.version} ${info.platform} node-v${info.node}`);
    return info;
  }
}
