import { readFileSync } from 'node:fs';
import path from 'node:path';

/** The version from the root package.json, read once. */
export const VERSION: string = (() => {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
      if (pkg.name === 'prombackup') return String(pkg.version);
    } catch {
      // keep climbing
    }
    if (path.dirname(dir) === dir) return '0.0.0-unknown';
  }
})();
