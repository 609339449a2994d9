import { Command, Flags, type Interfaces } from '@oclif/core';
import type { PrombackupClient } from '@prombackup/client';
import { createClient, describeApiFailure, isHeaderSafe } from './api';
import { type ErrorJson, errorJson } from './error-json';

export type ApiFlags<T extends typeof Command> = Interfaces.InferredFlags<(typeof ApiCommand)['baseFlags'] & T['flags']>;

/** What every command shares: the server to talk to, a client for it, and one place for errors. */
export abstract class ApiCommand<T extends typeof Command> extends Command {
  static enableJsonFlag = true;

  /** A failure under --json: message and exit code only (see errorJson). */
  protected override toErrorJson(err: unknown): ErrorJson {
    return errorJson(err);
  }

  static baseFlags = {
    server: Flags.string({
      char: 's',
      summary: 'URL of prombackup-server, e.g. http://prombackupserver:8080.',
      env: 'PROMBACKUP_ENDPOINT',
      helpValue: 'URL',
      helpGroup: 'GLOBAL',
    }),
    token: Flags.string({
      summary: 'Bearer token, for a server started with -auth_token_file. Prefer the variable: a flag shows in ps.',
      env: 'PROMBACKUP_TOKEN',
      helpValue: 'TOKEN',
      helpGroup: 'GLOBAL',
    }),
  };

  protected flags!: ApiFlags<T>;
  protected client!: PrombackupClient;
  protected server!: string;
  protected token: string | undefined;

  public override async init(): Promise<void> {
    await super.init();
    const { flags } = await this.parse({
      flags: this.ctor.flags,
      baseFlags: (super.ctor as typeof ApiCommand).baseFlags,
      enableJsonFlag: this.ctor.enableJsonFlag,
      args: this.ctor.args,
      strict: this.ctor.strict,
    });
    this.flags = flags as ApiFlags<T>;
    if (!this.flags.server) {
      this.error('no server given: pass --server URL (or -server URL) or set PROMBACKUP_ENDPOINT', { exit: 2 });
    }
    let url: URL;
    try {
      url = new URL(this.flags.server);
    } catch {
      this.error(`--server ${JSON.stringify(this.flags.server)} is not a URL; expected e.g. http://prombackupserver:8080`, { exit: 2 });
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      this.error(`--server must be an http or https URL, not ${JSON.stringify(this.flags.server)}`, { exit: 2 });
    }
    // fetch refuses user info with a message that quotes the password; the server takes a bearer token instead.
    if (url.username !== '' || url.password !== '') {
      this.error('--server must not hold a user name or password; for a server started with -auth_token_file pass --token or set PROMBACKUP_TOKEN', { exit: 2 });
    }
    // Paths are appended to the URL as written, so a query or fragment would send every request to the web page.
    if (/[?#]/.test(this.flags.server)) {
      this.error(`--server must be the server's base URL, without a query or a fragment, e.g. ${url.origin}${url.pathname.replace(/\/$/, '')}`, { exit: 2 });
    }
    // The URL parser above ignores surrounding whitespace (a value read from a file or a Secret); requests must too.
    this.server = this.flags.server.trim();
    this.token = this.flags.token?.trim() || undefined;
    // Checked here, because fetch would refuse such a header with a message that quotes it.
    if (this.token !== undefined && !isHeaderSafe(this.token)) {
      this.error('the token (--token or PROMBACKUP_TOKEN) holds characters an HTTP header cannot carry', { exit: 2 });
    }
    this.client = createClient(this.server, this.token);
  }

  /** Turns any failure into one clear line and a non-zero exit. */
  protected override async catch(err: Error & { exitCode?: number; oclif?: { exit?: number } }): Promise<unknown> {
    const failure = err.oclif ? err : Object.assign(new Error(describeApiFailure(err, this.server ?? '', this.token !== undefined)), { oclif: { exit: 1 } });
    // Under --json oclif prints the error object and exits 1 whatever its oclif.exit says; a
    // script reading both must see the same code.
    if (this.jsonEnabled() && typeof failure.oclif?.exit === 'number') process.exitCode = failure.oclif.exit;
    return super.catch(failure);
  }
}
