// Browser end-to-end tests of the Overview (landing) page and the
// in-browser Benchmark page, with their tiny `quick=1` configurations.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { labUrl, BASE_URL, screenshot, withPage } from './lab.mjs';


/** Downloads the file behind the button with test id `testid`, parsed as JSON. */
async function downloadJson(page, testid) {
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId(testid).click()]);
  return JSON.parse(fs.readFileSync(await download.path(), 'utf8'));
}

test('the landing page shows the diagram, the claims and the pages, and starts no worker', () =>
  withPage(async (page) => {
    const workerLoads = [];
    page.on('request', (r) => { if (/worker/.test(r.url())) workerLoads.push(r.url()); });
    await page.goto(BASE_URL);
    await page.getByTestId('claims').waitFor();
    assert.match(await page.locator('h1').textContent(), /converges/);
    const svg = page.getByTestId('diagram').locator('svg');
    assert.equal(await svg.count(), 1);
    assert.match(await svg.locator('title').textContent(), /Layer 1/);
    const rows = page.getByTestId('claims').locator('tbody tr');
    assert.equal(await rows.count(), 8);
    const holds = await page.getByTestId('holds').allTextContents();
    assert.ok(holds.every((h) => /not measured yet/.test(h)), holds.join(' | '));
    assert.equal(await page.getByTestId('pages').locator('a').count(), 8);
    await page.waitForTimeout(500);
    assert.deepEqual(workerLoads, [], 'no worker is loaded before "Measure"');
    // Keyboard: the Measure button is reachable and labelled.
    assert.equal(await page.getByRole('button', { name: /Measure in this browser/ }).count(), 1);
  }));

test('"Measure" fills every measured cell, and the reproducibility row holds', () =>
  withPage(async (page) => {
    await page.goto(labUrl({ exp: 'overview', quick: '1', workers: '2' }));
    await page.getByTestId('measure').click();
    await page.getByTestId('permalink').waitFor({ timeout: 60_000 });
    const measured = await page.getByTestId('measured').allTextContents();
    assert.equal(measured.length, 8);
    assert.ok(measured.every((m) => m !== '—' && m.length > 0), measured.join(' | '));
    const holds = Object.fromEntries(
      await page.getByTestId('holds').evaluateAll((cells) =>
        cells.map((c) => [c.closest('tr').dataset.claim, c.dataset.holds])),
    );
    assert.equal(holds.reproducibility, 'holds', 'same bits as native x86-64');
    assert.equal(holds.strategies, 'holds');
    assert.equal(holds['convergence-rate'], 'holds');
    assert.equal(holds.partition, 'holds');
    assert.equal(holds.trust, 'not as stated');
    assert.equal(holds.pco, 'not as stated', 'the seed had no real signatures');
    assert.match(measured.join(' '), /same bits as native x86-64/);
    const report = await downloadJson(page, 'export-json');
    assert.equal(report.experiment, 'overview');
    assert.equal(report.execution.workers, 2);
    assert.ok(report.results.golden.every((g) => g.native === g.here));
    await screenshot(page, 'overview-desktop.png');
  }));

test('the overview reads well on a phone', () =>
  withPage(async (page) => {
    await page.goto(labUrl({ exp: 'overview' }));
    await page.getByTestId('claims').waitFor();
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 390, `no sideways scrolling (page is ${width} px wide)`);
    await screenshot(page, 'overview-phone.png');
  }, { viewport: { width: 390, height: 844 } }));

test('the benchmark page runs a quick configuration and shows its rows', () =>
  withPage(async (page) => {
    await page.goto(labUrl({ exp: 'benchmark', quick: '1', workers: '2', run: '1' }));
    await page.getByTestId('quick-notice').waitFor({ timeout: 60_000 });
    const rows = page.getByTestId('bench-rows').locator('tbody tr');
    assert.ok((await rows.count()) >= 10, 'join, experiment and PCO rows');
    const report = await downloadJson(page, 'export-json');
    assert.equal(report.experiment, 'browser-bench');
    assert.equal(report.results.workers, 2);
    assert.ok(report.results.rows.every((r) => r.ops > 0));
    assert.ok(report.results.rows.some((r) => r.section === 'Pco' && r.workers === 2), 'PCO on every worker at once');
    for (const r of report.results.rows.filter((r) => r.section === 'Experiment')) {
      assert.match(r.note, /^verdict PASS/);
    }
    assert.equal(await page.getByTestId('bench-chart').locator('svg').count(), 1);
    assert.match(page.url(), /exp=benchmark/);
  }));

test('the benchmark can be cancelled and run again', () =>
  withPage(async (page) => {
    await page.goto(labUrl({ exp: 'benchmark', workers: '1', run: '1' }));
    await page.getByTestId('progress').waitFor();
    await page.waitForTimeout(800);
    await page.getByTestId('cancel').click();
    await page.getByTestId('cancelled').waitFor({ timeout: 10_000 });
    await page.getByTestId('size-quick').check();
    await page.getByTestId('run').click();
    await page.getByTestId('quick-notice').waitFor({ timeout: 60_000 });
  }));
