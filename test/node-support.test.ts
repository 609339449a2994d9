// The suite runs on a Node that package.json supports, and the processes it starts run on that
// same Node: scripts/ensure-node.sh puts a supported one first on PATH, and .ci/run runs the suite
// once per line. Without these checks a run on the wrong Node would pass without saying so.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './support/processes';

const engines = (JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { engines: { node: string } }).engines
  .node;

/** Whether a version satisfies a range made of `^X.Y.Z` and `>=X.Y.Z` joined by `||` (all engines uses). */
function satisfies(version: string, range: string): boolean {
  const parse = (v: string) => v.split('.').map(Number);
  const atLeast = (a: number[], b: number[]) => a[0] !== b[0] ? a[0] > b[0] : a[1] !== b[1] ? a[1] > b[1] : a[2] >= b[2];
  const v = parse(version);
  return range.split('||').some((part) => {
    const m = /^\s*(\^|>=)(\d+\.\d+\.\d+)\s*$/.exec(part);
    if (!m) throw new Error(`engines.node: cannot read ${JSON.stringify(part)}`);
    const min = parse(m[2]);
    return atLeast(v, min) && (m[1] === '>=' || v[0] === min[0]);
  });
}

describe('supported Node.js', () => {
  it('reads the engines range as npm does', () => {
    expect(satisfies('22.12.0', engines)).toBe(true);
    expect(satisfies('22.11.0', engines)).toBe(false);
    expect(satisfies('20.20.2', engines)).toBe(false);
    expect(satisfies('23.1.0', engines)).toBe(false);
    expect(satisfies('24.0.0', engines)).toBe(true);
    expect(satisfies('25.9.0', engines)).toBe(false);
    expect(satisfies('26.1.0', engines)).toBe(true);
  });

  it('runs the suite on a Node that package.json supports', () => {
    expect(satisfies(process.versions.node, engines), `Node ${process.version} against engines ${engines}`).toBe(true);
  });

  it('starts its child processes (the #! lines say `env node`) on that same Node', () => {
    const child = execFileSync('/usr/bin/env', ['node', '-p', 'process.version']).toString().trim();
    expect(child).toBe(process.version);
  });

  it.runIf(process.env.PROMBACKUP_NODE)('runs on the line that PROMBACKUP_NODE asked for', () => {
    expect(process.versions.node.split('.')[0]).toBe(process.env.PROMBACKUP_NODE);
  });
});
