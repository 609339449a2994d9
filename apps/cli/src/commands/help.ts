import { Args, Command, loadHelpClass } from '@oclif/core';

/** `prombackup help [COMMAND]`, as oclif CLIs have it (the help plugin, without the dependency). */
export default class Help extends Command {
  static override summary = 'Show help for prombackup, or for one command.';
  static override examples = ['<%= config.bin %> help', '<%= config.bin %> help create'];
  static override args = {
    command: Args.string({ description: 'The command to explain', required: false }),
  };

  async run(): Promise<void> {
    const { args } = await this.parse(Help);
    if (args.command !== undefined && !this.config.findCommand(args.command)) {
      this.error(`no command ${JSON.stringify(args.command)}; \`${this.config.bin} help\` lists them`, { exit: 2 });
    }
    const HelpClass = await loadHelpClass(this.config);
    await new HelpClass(this.config).showHelp(args.command === undefined ? [] : [args.command]);
  }
}
