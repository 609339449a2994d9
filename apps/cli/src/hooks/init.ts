import type { Hook } from '@oclif/core';

/**
 * oclif names the program after its npm package, prombackup-cli (the repository's root package is
 * prombackup); `--version` should name the command people type.
 */
const hook: Hook.Init = async function () {
  // A plain property once the config is loaded, though typed read-only.
  const config = this.config as { userAgent: string; bin: string };
  config.userAgent = config.userAgent.replace(/^[^/]*/, config.bin);
};

export default hook;
