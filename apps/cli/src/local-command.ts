import { Command } from '@oclif/core';
import { type ErrorJson, errorJson } from './error-json';

/** What commands that work on local files only (restore, verify) share: --json and one place for errors. */
export abstract class LocalCommand extends Command {
  static enableJsonFlag = true;

  /** A failure under --json: message and exit code only (see errorJson). */
  protected override toErrorJson(err: unknown): ErrorJson {
    return errorJson(err);
  }

  /** Turns any failure into one clear line and a non-zero exit (1 unless the error says otherwise). */
  protected override async catch(err: Error & { exitCode?: number; oclif?: { exit?: number } }): Promise<unknown> {
    const failure = err.oclif ? err : Object.assign(new Error(err.message), { oclif: { exit: 1 } });
    // Under --json oclif exits 1 whatever oclif.exit says; a script reading both must see the same code.
    if (this.jsonEnabled() && typeof failure.oclif?.exit === 'number') process.exitCode = failure.oclif.exit;
    return super.catch(failure);
  }
}
