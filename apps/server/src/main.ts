import 'reflect-metadata';
import { createApp, listen } from './bootstrap';
import { SettingsError, parseCommandLine } from './config/settings';
import { helpText } from './config/settings-help';
import { VERSION } from './config/version';
import { handleShutdownSignals } from './lifecycle/shutdown-signals';

async function main(argv: string[]): Promise<void> {
  let parsed;
  try {
    parsed = parseCommandLine(argv, process.env);
  } catch (err) {
    if (!(err instanceof SettingsError)) throw err;
    process.stderr.write(`prombackup-server: ${err.message}\n`);
    process.exit(2);
  }
  if (parsed.kind === 'help') {
    process.stdout.write(helpText(VERSION));
    return;
  }
  if (parsed.kind === 'version') {
    process.stdout.write(`prombackup-server ${VERSION}\n`);
    return;
  }
  const app = await createApp(parsed.settings);
  await listen(app, parsed.settings);
  handleShutdownSignals(app, parsed.settings.shutdownGraceMs);
}

main(process.argv.slice(2)).catch((err: Error) => {
  process.stderr.write(`prombackup-server: ${err.message}\n`);
  process.exit(1);
});
