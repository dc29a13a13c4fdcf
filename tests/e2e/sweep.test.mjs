// Browser end-to-end tests of the Strategy sweep page (Experiment 3), run by
// tests/e2e/run.sh. Small configs only: the whole file stays well under the
// CI budget.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { labUrl, waitForRun, cliReport, screenshot, withPage } from './lab.mjs';

const small = {
  exp: 'sweep', nodes: '4', dim: '4', orderings: '1',
  strategies: 'weight_average,ties,ties:paper',
};

for (const workers of ['1', '2']) {
  test(`a small sweep with ${workers} worker(s) gives lab-cli's fingerprint`, () =>
    withPage(async (page) => {
      await page.goto(labUrl({ ...small, workers, run: '1' }));
      const run = await waitForRun(page);
      assert.equal(run.passed, 'true');
      assert.match(run.cli, /^lab-cli sweep .*--strategies weight_average,ties,ties:paper( |$)/);
      const cli = cliReport(run.cli);
      assert.equal(run.fingerprint, cli.fingerprint);
      // One table row and one bar group per strategy, in both charts.
      assert.equal(await page.locator('[data-testid="results"] tbody tr').count(), 3);
      for (const id of ['chart', 'chart-time']) {
        const svg = page.getByTestId(id).locator('svg');
        for (const name of ['weight_average', 'ties', 'ties:paper']) {
          assert.equal(await svg.locator('text', { hasText: new RegExp(`^${name}$`) }).count(), 1, `${id}: ${name}`);
        }
      }
      if (workers === '2') {
        const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-json').click()]);
        const browser = JSON.parse(fs.readFileSync(await download.path(), 'utf8'));
        assert.equal(browser.execution.workers, 2);
        assert.deepEqual(browser.execution.phases_ms.map(([label]) => label), ['weight_average', 'ties', 'ties:paper']);
        delete browser.execution;
        delete cli.execution;
        assert.deepEqual(browser, cli);
        const [csv] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-csv').click()]);
        assert.equal(fs.readFileSync(await csv.path(), 'utf8').trim().split('\r\n').length, 4);
      }
    }));
}

test('the picker writes the strategies field and the form runs it', () =>
  withPage(async (page) => {
    await page.goto(labUrl({ exp: 'sweep', nodes: '4', dim: '4', orderings: '1', workers: '2' }));
    const count = page.getByTestId('selected-count');
    const total = Number(await count.textContent());
    assert.ok(total > 3);
    await page.getByTestId('none-reference').click();
    await page.getByTestId('none-literature').click();
    assert.equal(await count.textContent(), '0');
    // Nothing selected: Run explains instead of running everything.
    await page.getByTestId('run').click();
    await page.getByTestId('form-issues').waitFor();
    await page.getByText('Choose individual strategies').first().click();
    await page.getByLabel('weight_average', { exact: true }).check();
    await page.getByLabel('linear', { exact: true }).check();
    assert.equal(await count.textContent(), '2');
    assert.equal(await page.locator('#f-strategies').inputValue(), 'weight_average,linear');
    await page.getByTestId('run').click();
    const run = await waitForRun(page);
    assert.equal(run.passed, 'true');
    assert.equal(await page.locator('[data-testid="results"] tbody tr').count(), 2);
    assert.match(page.url(), /strategies=weight_average%2Clinear/);
    assert.equal(run.fingerprint, cliReport(run.cli).fingerprint);
  }));

test('a bad strategy name is named, the default is used, and the page still runs', () =>
  withPage(async (page) => {
    await page.goto(labUrl('exp=sweep&strategies=nope&nodes=4&dim=4&orderings=1&workers=2'));
    const issues = page.getByTestId('query-issues');
    await issues.waitFor();
    assert.match(await issues.textContent(), /strategies=nope/);
    assert.equal(await page.locator('#f-strategies').inputValue(), '');
    await page.getByTestId('none-literature').click();
    await page.getByTestId('none-reference').click();
    await page.getByText('Choose individual strategies').first().click();
    await page.getByLabel('ties', { exact: true }).check();
    await page.getByTestId('run').click();
    assert.equal((await waitForRun(page)).passed, 'true');
  }));

test('Cancel stops a sweep and the next run succeeds', () =>
  withPage(async (page) => {
    // Every strategy at the default size: long enough to cancel mid-run.
    await page.goto(labUrl({ exp: 'sweep', workers: '1', run: '1' }));
    const progress = page.getByTestId('progress');
    await progress.waitFor();
    await page.waitForFunction(() => /of \d+ done/.test(document.querySelector('[data-testid="progress"]')?.textContent ?? ''), null, { timeout: 30_000 });
    assert.match(await progress.textContent(), /last: /, 'progress names the last finished strategy');
    await page.getByTestId('cancel').click();
    await page.getByTestId('cancelled').waitFor({ timeout: 10_000 });
    assert.equal(await page.getByTestId('verdict').count(), 0);
    await page.getByLabel('Nodes').fill('4');
    await page.getByLabel('Tensor side (dim × dim)').fill('4');
    await page.locator('#f-strategies').evaluate((el) => el.closest('details').open = true);
    await page.locator('#f-strategies').fill('linear,ties:paper');
    assert.equal(await page.getByTestId('selected-count').textContent(), '2');
    await page.getByTestId('run').click();
    assert.equal((await waitForRun(page)).passed, 'true');
  }));

for (const [name, viewport] of [['desktop', { width: 1280, height: 800 }], ['phone', { width: 390, height: 844 }]]) {
  test(`screenshot at ${name} width`, () =>
    withPage(async (page) => {
      await page.goto(labUrl({ ...small, strategies: 'weight_average,ties,ties:paper,dare,dare:paper,slerp,slerp:mergekit,karcher:paper', run: '1' }));
      await waitForRun(page);
      await screenshot(page, `sweep-${name}.png`);
    }, { viewport }));
}
