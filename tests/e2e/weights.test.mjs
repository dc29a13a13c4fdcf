// Real weights (run by tests/e2e/run.sh): safetensors files written here are
// dropped or picked on the page, never leave the browser (no request at all
// while they are read and merged), merge to lab-cli's fingerprint on the
// same files, and bad files are named with their problem while the page
// keeps working. Also the shipped sample and screenshots; and the same
// panel on the partition, sweep and scale pages, whose runs send the
// tensors to their job workers and give lab-cli's fingerprint.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { labUrl, waitForRun, screenshot, LAB_CLI, withPage } from './lab.mjs';


/**
 * A safetensors file: 8-byte little-endian header length, JSON header
 * (padded to 8 bytes), then each tensor's little-endian F32 data.
 */
function safetensors(tensors) {
  const header = {};
  let offset = 0;
  for (const [name, shape, values] of tensors) {
    header[name] = { dtype: 'F32', shape, data_offsets: [offset, offset + 4 * values.length] };
    offset += 4 * values.length;
  }
  let json = JSON.stringify(header);
  while (json.length % 8 !== 0) json += ' ';
  const out = Buffer.alloc(8 + json.length + offset);
  out.writeBigUInt64LE(BigInt(json.length), 0);
  out.write(json, 8, 'latin1');
  let at = 8 + json.length;
  for (const [, , values] of tensors) {
    for (const v of values) { out.writeFloatLE(v, at); at += 4; }
  }
  return out;
}

/** A small "fine-tune": weight 4×3 and bias 3, offset by k. */
function model(k, { nanAt } = {}) {
  const w = Array.from({ length: 12 }, (_, i) => i * 0.25 + k);
  if (nanAt !== undefined) w[nanAt] = NaN;
  return safetensors([['layer.weight', [4, 3], w], ['layer.bias', [3], [k, -k, 0.5]]]);
}

/** Files for setInputFiles. */
const asInput = (files) =>
  Object.entries(files).map(([name, buffer]) => ({ name, mimeType: 'application/octet-stream', buffer }));

/** Drops `files` on the page's drop zone, as a drag from the desktop would. */
async function drop(page, files) {
  const payload = Object.entries(files).map(([name, buffer]) => [name, [...buffer]]);
  await page.locator('.dropzone').evaluate((zone, list) => {
    const dt = new DataTransfer();
    for (const [name, bytes] of list) dt.items.add(new File([new Uint8Array(bytes)], name));
    zone.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
  }, payload);
}

/** The page's lab-cli command run (with --json) in `dir`, where the files are. */
function cliIn(dir, command) {
  // The page quotes names only when needed; these names need no quotes.
  const args = command.split(/\s+/);
  assert.equal(args.shift(), 'lab-cli');
  return JSON.parse(execFileSync(LAB_CLI, [...args, '--json'], { cwd: dir, encoding: 'utf8' }));
}

/** Waits until the workers and the service worker are up, so that what
 * follows should make no request at all. */
async function settle(page) {
  await page.getByTestId('run').waitFor();
  await page.evaluate(() =>
    'serviceWorker' in navigator
      ? Promise.race([navigator.serviceWorker.ready, new Promise((r) => setTimeout(r, 3000))])
      : null);
  await page.waitForLoadState('networkidle');
}

/** Records the page's requests from now on (method, URL, body). */
function recordRequests(page) {
  const requests = [];
  page.on('request', (r) => requests.push({ method: r.method(), url: r.url(), body: r.postData() }));
  return requests;
}

/** Every recorded request, as "METHOD URL" (the panel's worker starts with
 * the page, so reading and merging files must make none at all). */
function described(requests) {
  return requests.map((r) => `${r.method} ${r.url}`);
}

test('picked files never leave the browser and merge to lab-cli\'s fingerprint', () =>
  withPage(async (page) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lab-weights-'));
    const files = { 'ft-a.safetensors': model(0), 'ft-b.safetensors': model(1), 'ft-c.safetensors': model(-0.5) };
    for (const [name, bytes] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), bytes);
    await page.goto(labUrl({ exp: 'convergence', workers: '2' }));
    await settle(page);
    const requests = recordRequests(page);

    await page.getByTestId('weights-input').setInputFiles(asInput(files));
    await page.getByTestId('weights-loaded').waitFor();
    assert.match(await page.getByTestId('weights-files').textContent(), /ft-a\.safetensors.*ft-b\.safetensors.*ft-c\.safetensors/s);
    const options = await page.getByTestId('weights-tensor').locator('option').allTextContents();
    assert.deepEqual(options, ['layer.bias — [3] F32', 'layer.weight — [4 × 3] F32']);
    await page.getByTestId('weights-tensor').selectOption('layer.weight');
    await page.getByTestId('weights-loaded').filter({ hasText: 'layer.weight' }).waitFor();
    assert.ok(await page.getByTestId('weights-use').isChecked());

    await page.getByLabel('Nodes').fill('7');
    await page.getByLabel('Orderings').fill('2');
    await page.getByLabel('Protocol').selectOption('push-pull');
    await page.getByTestId('run').click();
    const run = await waitForRun(page);
    assert.equal(run.passed, 'true');
    assert.match(await page.getByTestId('workload-files').textContent(), /ft-c\.safetensors/);
    assert.match(run.cli, /--weights ft-a\.safetensors ft-b\.safetensors ft-c\.safetensors --tensor layer\.weight/);
    assert.match(page.url(), /workload=files/, 'the permalink says files were used');
    assert.deepEqual(described(requests), [], 'reading and merging the files made no request');

    const cli = cliIn(dir, run.cli);
    assert.equal(cli.config.workload.files.files[2].name, 'ft-c.safetensors');
    assert.equal(run.fingerprint, cli.fingerprint);
    fs.rmSync(dir, { recursive: true, force: true });
  }));

test('bad files are named with their problem; the page keeps working', () =>
  withPage(async (page) => {
    await page.goto(labUrl({ exp: 'convergence', workers: '1', nodes: '4', orderings: '1' }));
    await settle(page);
    const error = page.getByTestId('weights-error');
    const good = model(0);

    await drop(page, { 'only.safetensors': good });
    assert.match(await error.textContent(), /two or more/);

    await drop(page, { 'good.safetensors': good, 'cut.safetensors': good.subarray(0, good.length - 5) });
    await error.filter({ hasText: 'cut.safetensors' }).waitFor();
    assert.match(await error.textContent(), /'cut\.safetensors' is truncated/);

    const header = Buffer.alloc(16);
    header.writeBigUInt64LE(1n << 40n, 0);
    await drop(page, { 'good.safetensors': good, 'junk.bin': header });
    await error.filter({ hasText: 'junk.bin' }).waitFor();
    assert.match(await error.textContent(), /header length .* beyond the end of the file/);

    // A NaN in layer.weight: named, nothing is loaded, Run explains why.
    await drop(page, { 'good.safetensors': good, 'nan.safetensors': model(2, { nanAt: 4 }) });
    await page.getByTestId('weights-tensor').selectOption('layer.weight');
    await error.filter({ hasText: 'nan.safetensors' }).waitFor();
    assert.match(await error.textContent(), /'nan\.safetensors', tensor 'layer\.weight': NaN at element 4/);
    assert.equal(await page.getByTestId('weights-loaded').count(), 0);
    await page.getByTestId('run').click();
    assert.match(await page.getByTestId('form-issues').textContent(), /no tensor is loaded/);

    // The other tensor of the same files is fine, and runs.
    await page.getByTestId('weights-tensor').selectOption('layer.bias');
    await page.getByTestId('weights-loaded').waitFor();
    assert.equal(await error.count(), 0);
    await page.getByTestId('run').click();
    assert.equal((await waitForRun(page)).passed, 'true');

    // A slice that leaves out the NaN (element 4 is in row 1) loads.
    await page.getByTestId('weights-tensor').selectOption('layer.weight');
    await error.filter({ hasText: 'NaN' }).waitFor();
    await page.getByTestId('weights-slice').check();
    await page.getByTestId('weights-slice-start').fill('2');
    await page.getByTestId('weights-slice-end').fill('4');
    await page.getByTestId('weights-load').click();
    assert.match(await page.getByTestId('weights-loaded').textContent(), /\[2 × 3\] F32 \(6 elements, rows 2\.\.4 of \[4 × 3\]\)/);

    // A base-requiring strategy without a base is explained, not run.
    await page.getByLabel('Strategy (Layer 2)').selectOption('ties');
    await page.getByTestId('run').click();
    assert.match(await page.getByTestId('form-issues').textContent(), /needs a base model/);
  }));

test('the shipped sample loads offline-first and merges to lab-cli\'s fingerprint', () =>
  withPage(async (page) => {
    await page.goto(labUrl({ exp: 'convergence', workers: '2', nodes: '4', orderings: '2' }));
    await page.getByTestId('weights-sample').click();
    await page.getByTestId('weights-loaded').filter({ hasText: 'lstm_cell.weight_hh' }).waitFor();
    await page.getByTestId('run').click();
    const run = await waitForRun(page);
    assert.equal(run.passed, 'true');
    const cli = cliIn(path.resolve('public/samples'), run.cli);
    assert.equal(run.fingerprint, cli.fingerprint);
    assert.equal(cli.config.workload.files.shape.join('x'), '512x128');
    await screenshot(page, 'weights-1280.png');
    await page.setViewportSize({ width: 390, height: 844 });
    await page.getByTestId('weights').scrollIntoViewIfNeeded();
    await screenshot(page, 'weights-390.png');
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);
    assert.equal(overflow, false, 'nothing is wider than a phone');
  }));

test('a link made with files says how to reproduce it', () =>
  withPage(async (page) => {
    await page.goto(labUrl({ exp: 'convergence', workload: 'files' }));
    await page.getByTestId('weights-from-link').waitFor();
    assert.match(await page.getByTestId('query-issues').textContent(), /cannot travel in a link/);
  }));

test('the sample on the partition page runs without a request and gives lab-cli partition\'s fingerprint', () =>
  withPage(async (page) => {
    await page.goto(labUrl({ exp: 'partition', workers: '2', nodes: '6', dim: '2', phases: 'halves@1-8' }));
    await settle(page);
    await page.getByTestId('weights-sample').click();
    await page.getByTestId('weights-loaded').filter({ hasText: 'lstm_cell.weight_hh' }).waitFor();
    assert.ok(await page.getByTestId('weights-use').isChecked());
    const requests = recordRequests(page);
    await page.getByTestId('run').click();
    const run = await waitForRun(page);
    assert.match(run.cli, /^lab-cli partition .*--weights silero-vad-6\.2\.3-16k\.safetensors silero-vad-6\.2\.3-jit-16k\.safetensors --tensor lstm_cell\.weight_hh/);
    assert.match(await page.getByTestId('workload-files').textContent(), /silero-vad-6\.2\.3-jit-16k\.safetensors/);
    assert.match(page.url(), /workload=files/, 'the permalink says files were used');
    await page.getByTestId('network').waitFor();
    assert.deepEqual(requests.map((r) => r.url), [], 'sending the tensors to the workers and running made no request');
    const cli = cliIn(path.resolve('public/samples'), run.cli);
    assert.equal(cli.config.workload.files.shape.join('x'), '512x128');
    assert.equal(run.passed, String(cli.verdict.passed));
    assert.equal(run.fingerprint, cli.fingerprint);
  }));

for (const [exp, query, expected] of [
  ['sweep', { nodes: '5', dim: '2', orderings: '2', strategies: 'weight_average,ties,linear' }, /needs a base model/],
  ['scale', { sizes: '3,6', dim: '2', orderings: '2' }, /ft-c\.safetensors/],
  ['suite', { preset: 'custom', nodes: '4', dim: '2', orderings: '1', partitions: '2', protocol: 'push-pull' }, /4\. scalability/],
]) {
  test(`picked files on the ${exp} page give lab-cli ${exp}'s fingerprint`, () =>
    withPage(async (page) => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), `lab-weights-${exp}-`));
      const files = { 'ft-a.safetensors': model(0), 'ft-b.safetensors': model(1), 'ft-c.safetensors': model(-0.5) };
      for (const [name, bytes] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), bytes);
      await page.goto(labUrl({ exp, workers: '2', ...query }));
      await settle(page);
      const requests = recordRequests(page);
      await page.getByTestId('weights-input').setInputFiles(asInput(files));
      await page.getByTestId('weights-loaded').waitFor();
      await page.getByTestId('weights-tensor').selectOption('layer.weight');
      await page.getByTestId('weights-loaded').filter({ hasText: 'layer.weight' }).waitFor();
      await page.getByTestId('run').click();
      const run = await waitForRun(page);
      assert.match(run.cli, new RegExp(`^lab-cli ${exp} .*--weights ft-a\\.safetensors ft-b\\.safetensors ft-c\\.safetensors --tensor layer\\.weight`));
      assert.match(await page.getByTestId('workload-files').textContent(), /ft-c\.safetensors/);
      assert.match(await page.locator('.results-section').textContent(), expected);
      assert.deepEqual(described(requests), [], 'reading and merging the files made no request');
      const cli = cliIn(dir, run.cli);
      assert.equal(run.passed, String(cli.verdict.passed));
      assert.equal(run.fingerprint, cli.fingerprint);
      fs.rmSync(dir, { recursive: true, force: true });
    }));
}

test('a file above the browser\'s 512 MiB limit is refused by its size before it is read', () =>
  withPage(async (page) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lab-weights-big-'));
    const good = path.join(dir, 'good.safetensors');
    fs.writeFileSync(good, model(0));
    // A sparse file: 600 MiB long, no disk used, never read by the page.
    const big = path.join(dir, 'huge.safetensors');
    fs.closeSync(fs.openSync(big, 'w'));
    fs.truncateSync(big, 600 * 1024 * 1024);
    await page.goto(labUrl({ exp: 'convergence', workers: '1', nodes: '4', orderings: '1' }));
    await settle(page);
    const error = page.getByTestId('weights-error');
    await page.getByTestId('weights-input').setInputFiles([good, big]);
    await error.filter({ hasText: 'huge.safetensors' }).waitFor();
    assert.match(await error.textContent(), /'huge\.safetensors'.*629145600 bytes.*536870912/s);
    assert.equal(await page.getByTestId('weights-loaded').count(), 0, 'nothing is half-loaded');
    // The page keeps working: good files load and run.
    const other = path.join(dir, 'other.safetensors');
    fs.writeFileSync(other, model(1));
    await page.getByTestId('weights-input').setInputFiles([good, other]);
    await page.getByTestId('weights-loaded').waitFor();
    assert.equal(await error.count(), 0);
    await page.getByTestId('run').click();
    assert.equal((await waitForRun(page)).passed, 'true');
    fs.rmSync(dir, { recursive: true, force: true });
  }));

test('a tensor above the element limit is sliced automatically, and the slice reproduces with lab-cli --rows', () =>
  withPage(async (page) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lab-weights-slice-'));
    // 2049 × 2048 elements: one row more than a browser run holds with two
    // files (2^22 elements per tensor).
    const [rows, cols] = [2049, 2048];
    const tensor = (k) => Float32Array.from({ length: rows * cols }, (_, i) => ((i * 7919 + k) % 1000) / 1000 - 0.5);
    const paths = ['big-a.safetensors', 'big-b.safetensors'].map((name, k) => {
      const p = path.join(dir, name);
      fs.writeFileSync(p, safetensors([['w', [rows, cols], tensor(k)]]));
      return p;
    });
    await page.goto(labUrl({ exp: 'convergence', workers: '1', nodes: '2', orderings: '1', protocol: 'push-pull' }));
    await settle(page);
    await page.getByTestId('weights-input').setInputFiles(paths);
    const loaded = page.getByTestId('weights-loaded');
    await loaded.waitFor({ timeout: 60_000 });
    assert.match(await page.getByTestId('weights').textContent(), /more than a browser run holds .* rows 0\.\.2048 are taken/s);
    assert.match(await loaded.textContent(), /\[2048 × 2048\] F32 \(4\u202f?194\u202f?304 elements, rows 0\.\.2048 of \[2049 × 2048\]\)/);
    await page.getByTestId('run').click();
    const run = await waitForRun(page);
    assert.equal(run.passed, 'true');
    assert.match(run.cli, /--weights big-a\.safetensors big-b\.safetensors --tensor w --rows 0\.\.2048/);
    const cli = cliIn(dir, run.cli);
    assert.deepEqual(cli.config.workload.files.slice, { Rows: { start: 0, end: 2048 } });
    assert.equal(run.fingerprint, cli.fingerprint);
    fs.rmSync(dir, { recursive: true, force: true });
  }));
