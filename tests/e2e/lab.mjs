// Shared helpers for the browser end-to-end tests: Debian Chromium through
// playwright-core, a fresh profile per browser, every request checked to stay
// on 127.0.0.1, and lab-cli as the reference for fingerprints.
import { chromium } from 'playwright-core';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const BASE_URL = process.env.LAB_URL ?? 'http://127.0.0.1:8080/';
export const LAB_CLI = process.env.LAB_CLI ?? path.resolve('target/release/lab-cli');
export const ARTIFACTS = path.resolve('tests/e2e/artifacts');
export const RUN_TIMEOUT_MS = 120_000;

const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

/** Host of a request URL (blob: URLs count as their origin's host). */
function hostOf(url) {
  const u = new URL(url);
  if (u.protocol === 'data:') return '127.0.0.1';
  if (u.protocol === 'blob:') return new URL(u.pathname).hostname;
  return u.hostname;
}

/**
 * A browser with a fresh profile. `offsite` collects every request whose
 * host is not 127.0.0.1; such requests are aborted.
 */
export async function launch(options = {}) {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'lab-e2e-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 800 },
    acceptDownloads: true,
    ...options,
  });
  const offsite = [];
  const problems = [];
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (hostOf(url) !== '127.0.0.1') {
      offsite.push(url);
      return route.abort();
    }
    return route.continue();
  });
  context.on('request', (req) => {
    if (hostOf(req.url()) !== '127.0.0.1' && !offsite.includes(req.url())) offsite.push(req.url());
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console error: ${m.text()}`); });
  const close = async () => {
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  };
  return { context, page, offsite, problems, close };
}

/** The lab's URL with `query` (an object or a string). */
export function labUrl(query) {
  const q = typeof query === 'string' ? query : new URLSearchParams(query).toString();
  return `${BASE_URL}?${q}`;
}

/** Waits for a finished run and returns its verdict and fingerprint. */
export async function waitForRun(page, timeout = RUN_TIMEOUT_MS) {
  const verdict = page.getByTestId('verdict');
  await verdict.waitFor({ timeout });
  return {
    passed: await verdict.getAttribute('data-passed'),
    fingerprint: (await page.getByTestId('fingerprint').textContent()).trim(),
    cli: (await page.getByTestId('cli').textContent()).trim(),
  };
}

/** Runs the page's own `lab-cli …` command with --json; returns the report. */
export function cliReport(command) {
  const args = command.split(/\s+/);
  if (args.shift() !== 'lab-cli') throw new Error(`not a lab-cli command: ${command}`);
  return JSON.parse(execFileSync(LAB_CLI, [...args, '--json'], { encoding: 'utf8' }));
}

/** Saves a full-page screenshot under tests/e2e/artifacts/. */
export async function screenshot(page, name) {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, name), fullPage: true });
}

/**
 * Opens a browser, runs `body(page, browser)`, closes it, and checks that no
 * request left 127.0.0.1 and (unless `expectErrors`) that the page logged no
 * error.
 */
export async function withPage(body, options, expectErrors = false) {
  const b = await launch(options);
  try {
    await body(b.page, b);
  } finally {
    await b.close();
  }
  if (b.offsite.length) throw new Error(`requests left 127.0.0.1: ${b.offsite.join(', ')}`);
  if (!expectErrors && b.problems.length) throw new Error(`page or console errors: ${b.problems.join(' | ')}`);
}
