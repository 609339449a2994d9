// The web page and Swagger UI driven by a real headless Chromium, against a real Prometheus and
// the built server: what an operator clicking around actually gets.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { type Browser, type BrowserContext, type Download, type Page, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARCHIVE_FORMATS, ARCHIVE_FORMAT_NAMES, type ArchiveFormat, DOWNLOAD_ID_HEADER } from '@prombackup/contract';
import { describeFolder, readArchive, sha256 } from './support/archive';
import { REPO_ROOT, type ServerProcess, startServer } from './support/processes';
import { type PrometheusInstance, startPrometheus, waitForHeadSamples } from './support/prometheus';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// No network beyond loopback: keep Chromium from trying to reach Google's services.
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const ARTIFACTS = path.join(REPO_ROOT, 'test-artifacts');
const OLD_SNAPSHOT = '20200101T000000Z-browserold';

interface Problem {
  url: string;
  what: string;
}

let prom: PrometheusInstance;
let server: ServerProcess;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let downloadDir: string;
/** Requests that failed or answered >= 400, and console errors, seen by the main page. */
const problems: Problem[] = [];
/** What the browser downloaded through the snapshot form, by format. */
const saved = new Map<ArchiveFormat, { name: string; file: string; sha256: string; skipHead: boolean }>();

beforeAll(async () => {
  prom = await startPrometheus();
  await waitForHeadSamples(prom.url);
  server = await startServer(['-prometheus_endpoint', prom.url, '-snapshot_dir', prom.snapshotDir]);
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 900 } });
  page = await context.newPage();
  watchForProblems(page, problems);
  downloadDir = await fs.mkdtemp(path.join(os.tmpdir(), 'pb-browser-'));
  await fs.mkdir(ARTIFACTS, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  await prom?.stop();
  if (downloadDir) await fs.rm(downloadDir, { recursive: true, force: true });
});

function watchForProblems(p: Page, into: Problem[]): void {
  p.on('requestfailed', (req) => {
    // A navigation that turns into a download is reported as aborted; that is the point of it.
    if (req.failure()?.errorText === 'net::ERR_ABORTED' && req.url().includes('/api/')) return;
    into.push({ url: req.url(), what: `request failed: ${req.failure()?.errorText}` });
  });
  p.on('response', (res) => {
    if (res.status() >= 400) into.push({ url: res.url(), what: `HTTP ${res.status()}` });
  });
  p.on('console', (msg) => {
    if (msg.type() === 'error') into.push({ url: msg.location().url, what: `console error: ${msg.text()}` });
  });
  p.on('pageerror', (err) => into.push({ url: p.url(), what: `page error: ${err.message}` }));
}

/** Submits the snapshot form on `/` with the given choices and waits for the download it turns into. */
async function snapshotThroughForm(p: Page, format: ArchiveFormat | undefined, skipHead: boolean): Promise<{ download: Download; id: string | null }> {
  await p.goto(`${server.url}/`);
  const form = p.locator('form', { has: p.locator('select[name=download_format]') });
  if (format) await form.locator('select[name=download_format]').selectOption(format);
  if (skipHead) await form.locator('input[name=skip_head]').check();
  else expect(await form.locator('input[name=skip_head]').isChecked()).toBe(false);
  let id: string | null = null;
  const onResponse = async (res: import('playwright-core').Response) => {
    if (new URL(res.url()).pathname === '/api/download') id = await res.headerValue(DOWNLOAD_ID_HEADER);
  };
  p.on('response', onResponse);
  try {
    const [download] = await Promise.all([p.waitForEvent('download'), form.locator('button[type=submit]').click()]);
    expect(await download.failure()).toBeNull();
    return { download, id };
  } finally {
    p.off('response', onResponse);
  }
}

/** Reads the status JSON the browser renders at a download_status link; waits until it is finished. */
async function statusShownAt(p: Page, href: string) {
  for (let attempt = 0; ; attempt++) {
    const res = await p.goto(new URL(href, `${server.url}/`).href);
    expect(res?.status()).toBe(200);
    expect(res?.headers()['content-type']).toMatch(/^application\/json/);
    // Chromium shows a JSON answer as text in a <pre>.
    const shown = JSON.parse((await p.locator('pre').first().textContent()) ?? '') as {
      id: string;
      snapshot_name: string;
      finished: null | { success: boolean; error_text: string | null; sha256_hex: string };
    };
    if (shown.finished || attempt >= 50) return shown;
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function blockFolders(dir: string): Promise<string[]> {
  return (await fs.readdir(dir)).filter((d) => /^[0-9A-HJKMNP-TV-Z]{26}$/.test(d));
}

async function exists(p: string): Promise<boolean> {
  return fs.stat(p).then(
    () => true,
    () => false,
  );
}

describe('Swagger UI at /docs', () => {
  it('loads its assets and lists every operation of the spec', async () => {
    const docsProblems: Problem[] = [];
    const docs = await context.newPage();
    watchForProblems(docs, docsProblems);
    try {
      const spec = (await (await fetch(`${server.url}/docs/openapi.json`)).json()) as {
        info: { title: string };
        paths: Record<string, Record<string, { operationId?: string; tags?: string[] }>>;
      };
      const operations = Object.entries(spec.paths).flatMap(([p, methods]) =>
        Object.entries(methods).map(([method, op]) => ({ path: p, method, operationId: op.operationId, tag: op.tags?.[0] ?? 'default' })),
      );
      expect(operations.length).toBeGreaterThanOrEqual(8);
      for (const op of operations) expect(op.operationId, `${op.method} ${op.path} has an operationId`).toBeTruthy();
      expect(new Set(operations.map((o) => o.operationId)).size).toBe(operations.length);

      await docs.goto(`${server.url}/docs`);
      await docs.locator('.opblock').nth(operations.length - 1).waitFor({ timeout: 15_000 });
      expect(await docs.title()).toBe('prombackup-server API');
      expect(await docs.locator('.info .title').textContent()).toContain(spec.info.title);

      const rendered = await docs.locator('.opblock').evaluateAll((blocks) =>
        blocks.map((b) => ({
          id: b.id,
          method: b.querySelector('.opblock-summary-method')?.textContent?.trim().toLowerCase(),
          path: b.querySelector('.opblock-summary-path')?.getAttribute('data-path'),
        })),
      );
      expect(rendered).toHaveLength(operations.length);
      for (const op of operations) {
        expect(rendered, `${op.method.toUpperCase()} ${op.path} shown`).toContainEqual({
          id: `operations-${op.tag}-${op.operationId}`,
          method: op.method,
          path: op.path,
        });
      }

      // "Try it out" reaches the server from the page (the spec's server URL is usable).
      const list = docs.locator(`#operations-snapshots-listSnapshots`);
      await list.locator('.opblock-summary').click();
      await list.locator('button.try-out__btn').click();
      await list.locator('button.execute').click();
      const responseCode = list.locator('.live-responses-table .response .response-col_status').first();
      await expect.poll(() => responseCode.textContent(), { timeout: 10_000 }).toMatch(/200/);

      await docs.screenshot({ path: path.join(ARTIFACTS, 'swagger-ui.png'), fullPage: true });
      expect(docsProblems, 'Swagger UI assets and scripts load cleanly').toEqual([]);
    } finally {
      await docs.close();
    }
  });
});

describe('the web page at /', () => {
  it('is a plain page: forms, no scripts, no failed requests', async () => {
    const res = await page.goto(`${server.url}/`);
    expect(res?.status()).toBe(200);
    expect(res?.headers()['content-type']).toBe('text/html; charset=utf-8');
    expect(await page.title()).toBe('prombackup');
    expect(await page.locator('script').count()).toBe(0);
    const options = await page.locator('select[name=download_format] option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
    expect(options).toEqual(ARCHIVE_FORMAT_NAMES);
    expect(await page.locator('input[name=keep_within]').inputValue()).toBe('1h');
    for (const link of ['./docs', './metrics']) {
      const href = await page.locator(`footer a[href="${link}"]`).getAttribute('href');
      const target = await fetch(new URL(href!, `${server.url}/`));
      expect(target.status, link).toBe(200);
    }
    expect(problems).toEqual([]);
  });

  it.each(ARCHIVE_FORMAT_NAMES)('snapshot form in %s: a download that extracts and is listed with its verified status', async (format) => {
    const skipHead = format === 'tgz';
    const { download, id } = await snapshotThroughForm(page, format, skipHead);
    const extension = ARCHIVE_FORMATS[format].extension;
    const filename = download.suggestedFilename();
    expect(filename).toMatch(/^\d{8}T\d{6}Z-[0-9a-f]+\.tar(\.gz|\.zst)?$/);
    expect(filename.endsWith(extension)).toBe(true);
    const name = filename.slice(0, -extension.length);
    expect(new URL(download.url()).pathname).toBe('/api/download');
    expect(Object.fromEntries(new URL(download.url()).searchParams)).toEqual({ name, format });

    const file = path.join(downloadDir, filename);
    await download.saveAs(file);
    const data = await fs.readFile(file);
    const snapshotFolder = path.join(prom.snapshotDir, name);
    expect(await readArchive(data, format)).toEqual(await describeFolder(snapshotFolder));
    saved.set(format, { name, file, sha256: sha256(data), skipHead });

    // The recent-downloads table lists it, newest first, linked to its status.
    await page.goto(`${server.url}/`);
    const rows = page.locator('table', { has: page.locator('th', { hasText: 'Outcome, SHA-256' }) }).locator('tbody tr');
    const row = rows.filter({ hasText: name }).filter({ has: page.locator('td', { hasText: new RegExp(`^${format}$`) }) });
    await expect.poll(() => row.count()).toBe(1);
    expect(await rows.first().textContent()).toContain(name);
    const link = row.locator(`a[href*="download_status"]`);
    const href = (await link.getAttribute('href'))!;
    expect(href).toMatch(/^\.\/api\/download_status\?id=/);
    // The id the download answered with in its header is the one the page links to.
    expect(id).toMatch(/^\d{8}T\d{9}Z-[0-9a-f]+$/);
    expect(new URL(href, server.url).searchParams.get('id')).toBe(id);
    await expect.poll(async () => {
      await page.reload();
      return row.locator('td[data-label="Outcome, SHA-256"] .ok').textContent().catch(() => '');
    }).toBe('ok');
    // With the SHA-256 of what was sent: the same as of what the browser saved.
    expect(await row.locator('code.hash').textContent()).toBe(sha256(data));

    // Following the link shows the status JSON: success, and the hash of the bytes the browser saved.
    await Promise.all([page.waitForURL(/download_status/), link.click()]);
    const shown = await statusShownAt(page, page.url());
    expect(shown).toEqual({
      id: new URL(href, server.url).searchParams.get('id'),
      snapshot_name: name,
      finished: { success: true, error_text: null, sha256_hex: sha256(data) },
    });
    expect(problems).toEqual([]);
  });

  it('skip head leaves the head block out', async () => {
    const withHead = saved.get('tar')!;
    const withoutHead = saved.get('tgz')!;
    expect(withoutHead.skipHead).toBe(true);
    const headCount = (await blockFolders(path.join(prom.snapshotDir, withHead.name))).length;
    const skipCount = (await blockFolders(path.join(prom.snapshotDir, withoutHead.name))).length;
    expect(skipCount).toBe(headCount - 1);
  });

  it('prunes from the page: names what it removed and keeps fresh snapshots', async () => {
    const old = path.join(prom.snapshotDir, OLD_SNAPSHOT);
    await fs.mkdir(path.join(old, '01HAAAAAAAAAAAAAAAAAAAAAAA'), { recursive: true });
    await fs.writeFile(path.join(old, '01HAAAAAAAAAAAAAAAAAAAAAAA', 'meta.json'), '{}');

    await page.goto(`${server.url}/`);
    const onDisk = page.locator('table', { has: page.locator('th', { hasText: 'Taken' }) });
    await expect.poll(() => onDisk.locator('tbody tr', { hasText: OLD_SNAPSHOT }).count()).toBe(1);

    const form = page.locator('form', { has: page.locator('input[name=keep_within]') });
    await form.locator('input[name=keep_within]').fill('1h');
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST' && r.request().isNavigationRequest()),
      form.locator('button[type=submit]').click(),
    ]);
    expect(response.status()).toBe(200);
    await page.waitForLoadState();
    const notice = page.locator('.notice');
    expect(await notice.textContent()).toContain(OLD_SNAPSHOT);
    expect(await notice.textContent()).toMatch(/Removed 1 snapshot/);
    await page.screenshot({ path: path.join(ARTIFACTS, 'web-page-after-prune.png'), fullPage: true });

    expect(await exists(old)).toBe(false);
    expect(await onDisk.locator('tbody tr', { hasText: OLD_SNAPSHOT }).count()).toBe(0);
    for (const { name } of saved.values()) {
      expect(await exists(path.join(prom.snapshotDir, name)), name).toBe(true);
      expect(await onDisk.locator('tbody tr', { hasText: name }).count(), name).toBe(1);
    }

    // The result page sits at ./prune; opening that address leads back to the page, not an error.
    expect(new URL(page.url()).pathname).toBe('/prune');
    const reopened = await page.goto(`${server.url}/prune`);
    expect(reopened?.status()).toBe(200);
    expect(new URL(page.url()).pathname).toBe('/');

    // Pruning again finds nothing old.
    await Promise.all([page.waitForURL(/\/prune$/), form.locator('button[type=submit]').click()]);
    expect(await page.locator('.notice').textContent()).toMatch(/Nothing to remove/);

    // A duration the browser lets through but the server refuses: the page says why, removes nothing.
    await page.goto(`${server.url}/`);
    await form.locator('input[name=keep_within]').fill('5');
    const [refused] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST' && r.request().isNavigationRequest()),
      form.locator('button[type=submit]').click(),
    ]);
    expect(refused.status()).toBe(400);
    await page.waitForLoadState();
    expect(await page.locator('.notice.error').textContent()).toMatch(/keep_within.*missing unit/);
    expect(await form.locator('input[name=keep_within]').inputValue()).toBe('5'); // kept for correcting
    await page.screenshot({ path: path.join(ARTIFACTS, 'web-page-prune-error.png') });
    for (const { name } of saved.values()) expect(await exists(path.join(prom.snapshotDir, name)), name).toBe(true);
    // The HTML 400 is expected here; anything else is not.
    expect(problems.filter((p) => !(new URL(p.url).pathname === '/prune' && p.what.includes('400')))).toEqual([]);
    problems.length = 0;
  });

  it('works without JavaScript', async () => {
    const plain = await browser.newContext({ acceptDownloads: true, javaScriptEnabled: false });
    try {
      const p = await plain.newPage();
      const plainProblems: Problem[] = [];
      watchForProblems(p, plainProblems);
      const { download } = await snapshotThroughForm(p, undefined, false);
      const filename = download.suggestedFilename();
      expect(filename).toMatch(/^\d{8}T\d{6}Z-[0-9a-f]+\.tar$/); // tar is the first, selected choice
      const file = path.join(downloadDir, `nojs-${filename}`);
      await download.saveAs(file);
      const name = filename.slice(0, -'.tar'.length);
      expect(await readArchive(await fs.readFile(file), 'tar')).toEqual(await describeFolder(path.join(prom.snapshotDir, name)));

      // The prune form too.
      await p.goto(`${server.url}/`);
      await p.locator('input[name=keep_within]').fill('2h');
      await Promise.all([p.waitForURL(/\/prune$/), p.locator('form', { has: p.locator('input[name=keep_within]') }).locator('button').click()]);
      expect(await p.locator('.notice').textContent()).toMatch(/Nothing to remove/);
      expect(plainProblems).toEqual([]);
    } finally {
      await plain.close();
    }
  });

  it('looks tidy with rows in its tables (screenshot for a human)', async () => {
    await page.goto(`${server.url}/`);
    const tables = page.locator('table');
    expect(await tables.count()).toBe(2);
    for (const table of await tables.all()) {
      expect(await table.locator('tbody tr').count()).toBeGreaterThanOrEqual(3);
      // Nothing spills out of the page horizontally.
      const box = (await table.boundingBox())!;
      const widths = await table.locator('thead th').evaluateAll((ths) => ths.map((th) => `${th.textContent}:${Math.round(th.getBoundingClientRect().width)}`));
      expect(box.x + box.width, widths.join(' ')).toBeLessThanOrEqual(1280);
    }
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(1280);
    await page.screenshot({ path: path.join(ARTIFACTS, 'web-page.png'), fullPage: true });
    // At phone width every row is a card and nothing needs sideways scrolling, SHA-256 included.
    await page.setViewportSize({ width: 360, height: 800 });
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);
    for (const table of await tables.all()) {
      expect(await table.locator('thead').isVisible()).toBe(false);
      const box = (await table.boundingBox())!;
      expect(box.x + box.width).toBeLessThanOrEqual(360);
    }
    const hash = page.locator('code.hash').first();
    const hashBox = (await hash.boundingBox())!;
    expect(hashBox.x + hashBox.width).toBeLessThanOrEqual(360);
    await page.screenshot({ path: path.join(ARTIFACTS, 'web-page-narrow.png'), fullPage: true });
    await page.setViewportSize({ width: 1280, height: 900 });
    expect(problems).toEqual([]);
  });
});
