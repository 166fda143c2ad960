import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The HTML reports in a real browser: headless Chromium (Debian's package, which .ci/run
 * installs) opens `shoal run --report` and `shoal sweep --report`, and every element the
 * reports promise must render without a console error. Screenshots go to docs/img/, which
 * docs/SCENARIOS.md shows. Without Chromium the test is skipped outside CI; in CI it fails.
 */
const repo = join(import.meta.dirname, '..', '..');
const executablePath = process.env.SHOAL_CHROMIUM ?? '/usr/bin/chromium';
const haveChromium = existsSync(executablePath);
const skip = !haveChromium && !process.env.CI;
const dir = mkdtempSync(join(tmpdir(), 'shoal-report-'));
const images = join(repo, 'docs', 'img');

/** A small scenario with a crash, a restart, a convergence window and a workload: every figure a sweep plots. */
const demo = `name: report-demo
description: a worker crashes under load and comes back; the cluster detects it and calls fail over
duration: 20s
cluster: { size: 5, preset: local, tags: { all: { role: worker } } }
workload: { rate: 50, method: compute, deadline: 1s, stop: 18s }
faults:
  - { at: 6s, crash: n3 }
  - { at: 12s, restart: n3 }
expect:
  - failed-within: { node: n3, within: 4500ms }
  - converge-within: { after: 12s, within: 4s }
  - success-ratio-at-least: 0.99
`;

const shoal = (...args: string[]) => spawnSync(process.execPath, [join(repo, 'bin', 'shoal.js'), ...args], { cwd: repo, encoding: 'utf8', timeout: 120_000 });

async function open(browser: Browser, file: string): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  // No request may leave the file: the report works offline.
  await page.route(/^(?!file:)/, (route) => {
    errors.push(`network request: ${route.request().url()}`);
    return route.abort();
  });
  await page.goto(`file://${file}`);
  return { page, errors };
}

describe.skipIf(skip)(`HTML reports in headless Chromium${skip ? ` (skipped: no ${executablePath} and not CI; apt-get install chromium)` : ''}`, () => {
  let browser: Browser;
  const scenario = join(dir, 'report-demo.yaml');
  const runReport = join(dir, 'run.html');
  const sweepReport = join(dir, 'sweep.html');

  beforeAll(async () => {
    expect(haveChromium, `${executablePath} is missing: CI must install Debian's chromium (.ci/run does)`).toBe(true);
    writeFileSync(scenario, demo);
    const run = shoal('run', scenario, '--seed', '1', '--report', runReport);
    expect(run.status, run.stderr).toBe(1);
    const sweep = shoal('sweep', scenario, '--seeds', '1..6', '--jobs', '2', '--report', sweepReport);
    expect([0, 1], sweep.stderr).toContain(sweep.status);
    mkdirSync(images, { recursive: true });
    browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
  }, 180_000);
  afterAll(async () => browser?.close());

  it('the run report: summary, expectations with evidence, timeline with its axis and fault bands, labelled diagram', async () => {
    expect(statSync(runReport).size).toBeLessThan(2_000_000);
    const { page, errors } = await open(browser, runReport);
    await expect.poll(() => page.locator('#expectations tbody tr').count()).toBe(3);
    expect(await page.locator('#expectations tr.failed').innerText()).toMatch(/FAIL\s+every live member sees n3 failed within 4500ms.*\n?.*did not see it failed in time/);
    expect(await page.locator('#reproduce').innerText()).toMatch(/npx shoal run .*report-demo\.yaml --seed 1/);
    expect(await page.locator('#timeline svg .axis text').count()).toBeGreaterThan(5);
    expect(await page.locator('#timeline svg .axis text').first().textContent()).toBe('0 ms');
    expect(await page.locator('#timeline svg .fault-band').count()).toBeGreaterThanOrEqual(2);
    expect(await page.locator('#timeline svg .segment').count()).toBeGreaterThan(5);
    const labels = await page.locator('#diagram svg .msg-label').allTextContents();
    for (const kind of [/^ping/, /^ack/, /cluster\.worker\.v1\/compute/]) expect(labels.some((l) => kind.test(l)), `${kind} in ${labels.slice(0, 20).join(', ')}`).toBe(true);
    expect(await page.locator('#diagram svg .legend text').allTextContents()).toEqual(expect.arrayContaining(['ping', 'ack', 'ping-req', 'suspect', 'push-pull', 'rpc', 'drop ✗']));
    expect(await page.locator('#diagram svg .transition').count()).toBeGreaterThan(0);
    expect(await page.locator('#diagram svg .drop').count()).toBeGreaterThan(0);
    expect((await page.locator('#diagram svg .msg').first().boundingBox())!.width).toBeGreaterThan(10);
    await page.screenshot({ path: join(images, 'report-run.png') });
    await page.locator('#diagram').scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(images, 'report-diagram.png') });
    expect(errors).toEqual([]);
  }, 60_000);

  it('the sweep report: failing seeds with their reproduce commands, a histogram and a CDF per figure', async () => {
    const { page, errors } = await open(browser, sweepReport);
    await expect.poll(() => page.locator('.plot canvas').count()).toBeGreaterThan(0);
    const plots = page.locator('.plot');
    const ids = await plots.evaluateAll((nodes) => nodes.map((n) => n.id));
    expect(ids).toEqual(['fig-detection', 'fig-convergence', 'fig-rpc-latency', 'fig-wall']);
    for (const id of ids) expect(await page.locator(`#${id} .uplot canvas`).count(), id).toBe(2);
    expect(await page.locator('#fig-rpc-latency .u-legend').last().innerText()).toMatch(/p50[\s\S]*p90[\s\S]*p99/);
    expect(await page.locator('#quantiles tbody tr').count()).toBe(7);
    const failures = await page.locator('#failures tbody tr').allInnerTexts();
    expect(failures.length).toBeGreaterThan(0);
    for (const row of failures) expect(row).toMatch(/npx shoal run .*report-demo\.yaml --seed \d+/);
    await page.screenshot({ path: join(images, 'report-sweep.png') });
    await page.locator('#fig-detection').scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(images, 'report-sweep-plots.png') });
    expect(errors).toEqual([]);
  }, 60_000);
});
