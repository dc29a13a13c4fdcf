// Browser end-to-end tests of the Trust page (E4), run by tests/e2e/run.sh.
// Small configs only: the whole file stays well under the CI budget.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { labUrl, waitForRun, cliReport, screenshot, withPage } from './lab.mjs';

const small = { exp: 'trust', nodes: '8', dim: '4', reference_contrast: 'true' };

async function download(page, testid) {
  const [d] = await Promise.all([page.waitForEvent('download'), page.getByTestId(testid).click()]);
  return fs.readFileSync(await d.path(), 'utf8');
}

test('a small run passes, matches lab-cli, and exports JSON, CSV and SVG', (t) =>
  withPage(async (page) => {
    await page.goto(labUrl({ ...small, workers: '1', run: '1' }));
    const run = await waitForRun(page);
    assert.equal(run.passed, 'true');
    assert.match(run.fingerprint, /^[0-9a-f]{64}$/);
    assert.match(run.cli, /^lab-cli trust .*--reference-contrast( |$)/);
    const cli = cliReport(run.cli);
    assert.equal(run.fingerprint, cli.fingerprint);

    const browser = JSON.parse(await download(page, 'export-json'));
    assert.equal(browser.execution.executor, 'browser');
    t.diagnostic(`browser run: ${browser.execution.total_ms.toFixed(1)} ms`);
    delete browser.execution;
    delete cli.execution;
    assert.deepEqual(browser, cli);

    const members = (await download(page, 'export-csv')).trim().split('\r\n');
    assert.equal(members.length, 1 + cli.results.members.length);
    assert.match(members[0], /^node,behaviour,final_trust,/);
    const evidence = (await download(page, 'export-csv-evidence')).trim().split('\r\n');
    assert.equal(evidence.length, 1 + cli.results.evidence.length);
    for (const id of ['export-svg', 'export-svg-trust', 'export-svg-contrast']) {
      const svg = await download(page, id);
      assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
      assert.match(svg, /<\/svg>$/);
    }
    assert.equal(await page.locator('[data-testid="chart"] svg').count(), 1);
    assert.equal(await page.locator('[data-testid="chart-trust"] svg rect').count(), 8);
    assert.match(await page.getByTestId('contrast-label').textContent(), /REFERENCE SEMANTICS/);
    assert.equal(await page.locator('[data-testid="results"] tbody tr').count(), 8);
  }));

test('too many Byzantine members in the link are named, and the defaults run', () =>
  withPage(async (page) => {
    await page.goto(labUrl('exp=trust&equivocators=999&workers=1'));
    const issues = page.getByTestId('query-issues');
    await issues.waitFor();
    assert.match(await issues.textContent(), /equivocators=999/);
    assert.equal(await page.getByLabel('Equivocators').inputValue(), '1');
    await page.getByTestId('run').click();
    assert.equal((await waitForRun(page)).passed, 'true');
  }));

test('an impossible form is explained and nothing runs', () =>
  withPage(async (page) => {
    await page.goto(labUrl({ exp: 'trust', workers: '1' }));
    await page.getByLabel('Members (nodes)').fill('5');
    await page.getByTestId('run').click();
    const issues = page.getByTestId('form-issues');
    await issues.waitFor();
    assert.match(await issues.textContent(), /nodes: 6 Byzantine members need at least 7 nodes/);
    assert.equal(await page.getByTestId('verdict').count(), 0);
  }));

test('Cancel stops a long run and the next run succeeds', () =>
  withPage(async (page) => {
    await page.goto(labUrl({ exp: 'trust', nodes: '200', dim: '64', workers: '1', run: '1' }));
    await page.getByTestId('progress').waitFor();
    await page.waitForTimeout(1000);
    await page.getByTestId('cancel').click();
    await page.getByTestId('cancelled').waitFor({ timeout: 10_000 });
    assert.equal(await page.getByTestId('verdict').count(), 0);
    await page.getByLabel('Members (nodes)').fill('8');
    await page.getByLabel('Tensor side (dim × dim)').fill('4');
    await page.getByTestId('run').click();
    assert.equal((await waitForRun(page)).passed, 'true');
    assert.match(page.url(), /nodes=8/, 'the address bar holds the permalink');
  }));

for (const [name, viewport, colorScheme] of [
  ['desktop', { width: 1280, height: 800 }, 'light'],
  ['phone', { width: 390, height: 844 }, 'dark'],
]) {
  test(`screenshot at ${name} width`, () =>
    withPage(async (page) => {
      await page.goto(labUrl({ exp: 'trust', reference_contrast: 'true', run: '1' }));
      await waitForRun(page);
      await screenshot(page, `trust-${name}.png`);
    }, { viewport, colorScheme }));
}
