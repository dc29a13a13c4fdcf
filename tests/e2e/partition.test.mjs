// Browser end-to-end tests of the Partition & healing page (Experiment 2).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { labUrl, waitForRun, cliReport, withPage } from './lab.mjs';

const small = { exp: 'partition', nodes: '12', dim: '4', phases: 'mod:3@1-10,halves@14-20', loss: '0.2', delay_max: '2' };

for (const workers of ['1', '2']) {
  test(`a partition run with ${workers} worker(s) gives lab-cli's fingerprint and JSON`, () =>
    withPage(async (page) => {
      await page.goto(labUrl({ ...small, workers, run: '1' }));
      const run = await waitForRun(page);
      assert.equal(run.passed, 'true');
      const cli = cliReport(run.cli);
      assert.equal(run.fingerprint, cli.fingerprint);
      const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-json').click()]);
      const browser = JSON.parse(fs.readFileSync(await download.path(), 'utf8'));
      assert.equal(browser.execution.executor, 'browser');
      delete browser.execution;
      delete cli.execution;
      assert.deepEqual(browser, cli);
      // Two phases in the table, both partitions shaded on the chart.
      assert.equal(await page.locator('[data-testid=results] tbody tr').count(), 2);
      assert.ok((await page.locator('[data-testid=chart] rect.fault').count()) >= 2, 'partitions shaded');
      // The network view: round 3 is inside the mod:3 partition (sides drawn
      // apart, three dashed cuts, the partition named); the last round is one state.
      const network = page.getByTestId('network');
      const caption = page.getByTestId('network-caption');
      assert.match(await caption.textContent(), /1 distinct state;/);
      await network.locator('input[type=range]').fill('3');
      assert.match(await caption.textContent(), /^Round 3 .*Active faults: partition \(/);
      assert.equal(await network.locator('svg line.cut').count(), 3);
      assert.equal(await network.locator('svg circle').count(), 12);
      await network.locator('input[type=range]').fill('12');
      assert.equal(await network.locator('svg line.cut').count(), 0);
    }));
}

test('a bad phases parameter is named and the page still runs', () =>
  withPage(async (page) => {
    await page.goto(labUrl('exp=partition&phases=mod:3@banana&nodes=9&dim=2'));
    const issues = page.getByTestId('query-issues');
    await issues.waitFor();
    assert.match(await issues.textContent(), /phases=mod:3@banana/);
    await page.getByTestId('run').click();
    assert.equal((await waitForRun(page)).passed, 'true');
  }));

test('embed=1 shows one experiment without the site header and footer', () =>
  withPage(async (page) => {
    await page.goto(labUrl({ exp: 'partition', nodes: '6', dim: '2', embed: '1', run: '1' }));
    assert.equal((await waitForRun(page)).passed, 'true');
    assert.equal(await page.locator('.site-header').count(), 0);
    assert.equal(await page.locator('.site-footer').count(), 0);
    assert.equal(await page.locator('main.embed').count(), 1);
  }));
