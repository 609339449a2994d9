// The alert rules shipped with the manifests: promtool accepts them, each alert has a unit test
// in which it fires, the PrometheusRule holds exactly the plain file's groups, and every metric
// the rules read is one the server exports.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { MetricsService } from '../apps/server/src/metrics/metrics.service';
import { REPO_ROOT } from './support/processes';

const ALERTS = path.join(REPO_ROOT, 'docker/alerts');
const RULES = path.join(ALERTS, 'prombackup.rules.yml');
const RULE_TESTS = path.join(ALERTS, 'prombackup.rules.test.yml');
const OPERATOR_RULE = path.join(REPO_ROOT, 'docker/operator/prometheusrule.yaml');

interface Rule {
  alert: string;
  expr: string;
}
const plain = YAML.parse(readFileSync(RULES, 'utf8')) as { groups: { name: string; rules: Rule[] }[] };
const alerts = plain.groups.flatMap((g) => g.rules);

function promtool(...args: string[]) {
  const run = spawnSync('promtool', args, { cwd: ALERTS, encoding: 'utf8' });
  return { code: run.status, output: `${run.stdout}${run.stderr}` };
}

describe('alert rules', () => {
  it('pass promtool check rules', () => {
    const run = promtool('check', 'rules', RULES);
    expect(run.code, run.output).toBe(0);
    expect(run.output).toContain(`SUCCESS: ${alerts.length} rules found`);
  });

  it('pass their promtool unit tests', () => {
    const run = promtool('test', 'rules', RULE_TESTS);
    expect(run.code, run.output).toBe(0);
  });

  it('each fire in at least one unit test, and stay quiet in another check', () => {
    const tests = YAML.parse(readFileSync(RULE_TESTS, 'utf8')) as { tests: { alert_rule_test: { alertname: string; exp_alerts: unknown[] }[] }[] };
    const checks = tests.tests.flatMap((t) => t.alert_rule_test);
    for (const { alert } of alerts) {
      expect(checks.some((c) => c.alertname === alert && c.exp_alerts.length > 0), `${alert} fires`).toBe(true);
      expect(checks.some((c) => c.alertname === alert && c.exp_alerts.length === 0), `${alert} stays quiet`).toBe(true);
    }
  });

  it('are the same in the PrometheusRule for the Operator', () => {
    const [resource] = YAML.parseAllDocuments(readFileSync(OPERATOR_RULE, 'utf8')).map((d) => d.toJS());
    expect(resource.kind).toBe('PrometheusRule');
    expect(resource.spec).toEqual(plain);
  });

  it('read only metrics the server exports', async () => {
    const exported = new Set((await new MetricsService().registry.getMetricsAsJSON()).map((m) => m.name));
    const used = new Set(alerts.flatMap((r) => r.expr.match(/\b(?:prombackup|process)_[a-z_]+/g) ?? []));
    expect(used.size).toBeGreaterThan(4);
    for (const name of used) expect(exported, name).toContain(name);
  });
});
