// Bad command lines, with and without --json: the exit code is the error's, and the JSON error
// says what went wrong and nothing more (no secrets, no oclif internals).
import { describe, expect, it } from 'vitest';
import { runCli } from './support/processes';

const TOKEN = 'tok-do-not-print-3f9a';
const env = { PROMBACKUP_TOKEN: TOKEN, PROMBACKUP_ENDPOINT: 'http://127.0.0.1:9' };

describe('bad command lines', () => {
  it.each([
    [['list', '--nope'], 2, /Nonexistent flag: --nope/],
    [['list', '--token', TOKEN, '--nope'], 2, /Nonexistent flag: --nope/],
    [['version', '--x'], 2, /Nonexistent flag: --x/],
    [['download', 'n', '--format', 'tar', '--format', 'tgz'], 2, /--format can only be specified once/],
    [['download', 'n', '--format', 'zip'], 2, /Expected --format=zip to be one of: tar, tgz, tzst/],
    [['restore'], 2, /Missing 1 required arg/],
    [['status', 'a', 'b'], 2, /Unexpected argument: b/],
    [['forget', '/tmp'], 2, /no retention policy given/],
    [['verify', '/nonexistent-pb'], 2, /does not exist/],
    [['list'], 1, /connection to the server at http:\/\/127\.0\.0\.1:9 failed/],
  ])('%j --json: exit %i, a short JSON error that names it and carries no token', async (args, code, message) => {
    const run = await runCli([...args, '--json'], { env });
    const out = run.stdout.toString();
    expect(run.code).toBe(code);
    expect(out).not.toContain(TOKEN);
    expect(out.length).toBeLessThan(2000);
    const json = JSON.parse(out);
    expect(json.error.message).toMatch(message);
    expect(json.error.oclif.exit).toBe(code);
    expect(Object.keys(json.error).sort()).toEqual(['message', 'name', 'oclif']);
  });

  it.each([['list', '--nope'], ['download', 'n', '--format', 'tar', '--format', 'tgz'], ['sync']])('%j without --json: exit 2 and no token on either stream', async (...args) => {
    const run = await runCli(args, { env });
    expect(run.code).toBe(2);
    expect(run.stdout.toString() + run.stderr.toString()).not.toContain(TOKEN);
  });

  it('prombackup alone lists the commands and exits 0; each command has --help', async () => {
    const bare = await runCli([], { env });
    expect(bare.code).toBe(0);
    const commands = [...bare.stdout.toString().matchAll(/^ {2}([a-z]+) {2,}/gm)].map((m) => m[1]);
    expect(commands).toEqual(expect.arrayContaining(['create', 'download', 'forget', 'list', 'restore', 'sync', 'verify', 'version']));
    for (const command of commands.filter((c) => c !== 'help')) {
      const help = await runCli([command, '--help'], { env });
      expect(help.code, command).toBe(0);
      expect(help.stdout.toString(), command).toContain(`$ prombackup ${command}`);
    }
  });
});
