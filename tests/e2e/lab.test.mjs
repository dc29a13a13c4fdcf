// Browser end-to-end tests of the Convergence page (run by tests/e2e/run.sh).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { labUrl, waitForRun, cliReport, screenshot, withPage } from './lab.mjs';

const small = { exp: 'convergence', nodes: '20', dim: '16', orderings: '3' };

for (const [protocol, fanout] of [['all-pairs', '1'], ['push-pull', '2']]) {
  for (const workers of ['1', '4']) {
    test(`${protocol} with ${workers} worker(s) gives lab-cli's fingerprint`, () =>
      withPage(async (page) => {
        await page.goto(labUrl({ ...small, protocol, fanout, workers, run: '1' }));
        assert.equal(await page.getByTestId('workers').textContent(), workers);
        const run = await waitForRun(page);
        assert.equal(run.passed, 'true');
        assert.match(run.fingerprint, /^[0-9a-f]{64}$/);
        const cli = cliReport(run.cli);
        assert.equal(cli.config.protocol, protocol);
        assert.equal(run.fingerprint, cli.fingerprint);
      }));
  }
}

test('the form runs, and the JSON export equals lab-cli --json (minus timings)', () =>
  withPage(async (page) => {
    await page.goto(labUrl({ exp: 'convergence', workers: '3' }));
    await page.getByLabel('Nodes').fill('17');
    await page.getByLabel('Tensor side (dim × dim)').fill('8');
    await page.getByLabel('Orderings').fill('2');
    await page.getByLabel('Protocol').selectOption('push');
    await page.getByLabel('Fan-out').fill('3');
    await page.getByTestId('run').click();
    const run = await waitForRun(page);
    assert.equal(run.passed, 'true');
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-json').click()]);
    const browser = JSON.parse(fs.readFileSync(await download.path(), 'utf8'));
    const cli = cliReport(run.cli);
    assert.equal(browser.execution.executor, 'browser');
    assert.equal(browser.execution.workers, 3);
    delete browser.execution;
    delete cli.execution;
    assert.deepEqual(browser, cli);
    assert.match(page.url(), /nodes=17/, 'the address bar holds the permalink');
  }));

test('bad URL parameters are named, defaults are used, and the page still works', () =>
  withPage(async (page) => {
    await page.goto(labUrl('exp=convergence&nodes=abc&fanout=999&workers=2'));
    const issues = page.getByTestId('query-issues');
    await issues.waitFor();
    const text = await issues.textContent();
    assert.match(text, /nodes=abc/);
    assert.match(text, /fanout=999/);
    assert.equal(await page.getByLabel('Nodes').inputValue(), '30');
    await page.getByLabel('Nodes').fill('12');
    await page.getByLabel('Tensor side (dim × dim)').fill('4');
    await page.getByTestId('run').click();
    assert.equal((await waitForRun(page)).passed, 'true');
  }));

test('an invalid form value is explained and nothing runs', () =>
  withPage(async (page) => {
    await page.goto(labUrl({ exp: 'convergence', workers: '1' }));
    await page.getByLabel('Nodes').fill('1');
    await page.getByTestId('run').click();
    const issues = page.getByTestId('form-issues');
    await issues.waitFor();
    assert.match(await issues.textContent(), /nodes/);
    assert.equal(await page.getByTestId('verdict').count(), 0);
  }));

test('Cancel stops a long run and the next run succeeds', () =>
  withPage(async (page) => {
    await page.goto(labUrl({ exp: 'convergence', nodes: '1000', dim: '16', orderings: '2', workers: '2', run: '1' }));
    await page.getByTestId('progress').waitFor();
    await page.waitForTimeout(1500);
    // The main thread stays responsive while the workers compute.
    const started = Date.now();
    assert.equal(await page.evaluate(() => 1 + 1), 2);
    assert.ok(Date.now() - started < 1000, 'the page answered within a second');
    await page.getByTestId('cancel').click();
    await page.getByTestId('cancelled').waitFor({ timeout: 10_000 });
    assert.equal(await page.getByTestId('verdict').count(), 0);
    await page.getByLabel('Nodes').fill('10');
    await page.getByTestId('run').click();
    assert.equal((await waitForRun(page)).passed, 'true');
  }));

test('a worker that fails to load fails the run in words, and the next run works', () =>
  withPage(async (page, { context }) => {
    await context.route('**/worker_bg.wasm', (route) => route.abort());
    await page.goto(labUrl({ exp: 'convergence', nodes: '10', dim: '4', orderings: '1', workers: '2', run: '1' }));
    const error = page.getByTestId('error');
    await error.waitFor({ timeout: 30_000 });
    assert.match(await error.textContent(), /worker \d+ failed/);
    await context.unroute('**/worker_bg.wasm');
    await page.getByTestId('run').click();
    assert.equal((await waitForRun(page)).passed, 'true');
  }, undefined, true));

for (const [name, viewport, colorScheme] of [
  ['desktop', { width: 1280, height: 800 }, 'light'],
  ['phone', { width: 390, height: 844 }, 'light'],
  ['phone-dark', { width: 390, height: 844 }, 'dark'],
]) {
  test(`screenshot at ${name} width`, () =>
    withPage(async (page) => {
      await page.goto(labUrl({ ...small, protocol: 'push-pull', fanout: '2', run: '1' }));
      await waitForRun(page);
      await screenshot(page, `convergence-${name}.png`);
    }, { viewport, colorScheme }));
}
