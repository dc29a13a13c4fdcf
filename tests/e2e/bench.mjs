// Headless runner of the in-browser benchmark page (not a test): opens
// ?exp=benchmark&run=1 with 1 and 2 workers in Debian Chromium, waits for the
// rows, and prints them as Markdown tables for BENCHMARKS.md ("In the
// browser"), with the facts a reader needs to judge them.
//
// Usage:
//   LAB_URL=http://127.0.0.1:PORT/ node tests/e2e/bench.mjs [--workers 1,2] [--quick]
//   node tests/e2e/bench.mjs --serve DIST_DIR [--workers 1,2]
//   node tests/e2e/bench.mjs --serve DIST_DIR --first-render [--loads 5]
// --serve serves DIST_DIR itself on 127.0.0.1 with COOP/COEP headers, so the
// page is cross-origin isolated (5 µs timer instead of 100 µs).
// --first-render instead loads the overview page `--loads` times, each in a
// fresh browser profile (cold HTTP cache, no service worker), and prints the
// median time from navigation start to the first contentful paint and to
// the overview's title being in the DOM (the app's first render), plus the
// bundle sizes (raw and gzip) of DIST_DIR when --serve is given.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { launch, BASE_URL } from './lab.mjs';

const args = process.argv.slice(2);
const arg = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const workersList = arg('--workers', '1,2').split(',').map(Number);
const quick = args.includes('--quick');
const firstRender = args.includes('--first-render');
const loads = Number(arg('--loads', '5'));
const serveDir = arg('--serve', null);
const TIMEOUT_MS = 15 * 60_000;

const MIME = {
  '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.css': 'text/css',
  '.svg': 'image/svg+xml', '.json': 'application/json', '.webmanifest': 'application/manifest+json',
};

/** A static server with cross-origin isolation headers; resolves to its URL. */
function serveIsolated(dir) {
  const root = path.resolve(dir);
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    let file = path.join(root, decodeURIComponent(url.pathname));
    if (!file.startsWith(root)) { res.writeHead(403).end(); return; }
    if (fs.existsSync(file) && fs.statSync(file).isDirectory()) file = path.join(file, 'index.html');
    fs.readFile(file, (err, body) => {
      if (err) { res.writeHead(404).end(); return; }
      res.writeHead(200, {
        'Content-Type': MIME[path.extname(file)] ?? 'application/octet-stream',
        'Cross-Origin-Opener-Policy': 'same-origin',
        'Cross-Origin-Embedder-Policy': 'require-corp',
        'Cache-Control': 'no-store',
      });
      res.end(body);
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () =>
    resolve({ url: `http://127.0.0.1:${server.address().port}/`, close: () => server.close() })));
}

/** Runs the benchmark page once with `workers`; returns its JSON report and facts. */
async function runOnce(base, workers) {
  const b = await launch();
  try {
    const q = new URLSearchParams({ exp: 'benchmark', workers: String(workers), run: '1' });
    if (quick) q.set('quick', '1');
    await b.page.goto(`${base}?${q}`);
    await b.page.getByTestId('environment').waitFor({ timeout: TIMEOUT_MS });
    const [download] = await Promise.all([
      b.page.waitForEvent('download'),
      b.page.getByTestId('export-json').click(),
    ]);
    const report = JSON.parse(fs.readFileSync(await download.path(), 'utf8'));
    const facts = await b.page.evaluate(() => ({
      userAgent: navigator.userAgent,
      isolated: self.crossOriginIsolated,
      cores: navigator.hardwareConcurrency,
    }));
    if (b.problems.length) throw new Error(b.problems.join('\n'));
    if (b.offsite.length) throw new Error(`requests left 127.0.0.1: ${b.offsite.join(', ')}`);
    return { report, facts };
  } finally {
    await b.close();
  }
}

const sig3 = (v) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v >= 1 ? v.toFixed(2) : v.toPrecision(3));
const si = (v) => (v >= 1e6 ? `${sig3(v / 1e6)} M` : v >= 1e3 ? `${sig3(v / 1e3)} K` : sig3(v));
const time = (ms) => (ms >= 1000 ? `${sig3(ms / 1000)} s` : `${sig3(ms)} ms`);
const perOp = (r) => {
  if (!(r.elapsed_ms > 0 && r.ops > 0)) return '—';
  const us = (r.elapsed_ms * 1000) / r.ops;
  return us >= 1000 ? `${sig3(us / 1000)} ms` : `${sig3(us)} µs`;
};
const ratio = (c) => {
  if (!c || c.speedup == null) return '—';
  if (c.target) return c.speedup >= 1 ? `meets (${sig3(c.speedup)}× under)` : `misses (${sig3(1 / c.speedup)}× over)`;
  return c.speedup >= 1 ? `${sig3(c.speedup)}× faster` : `${sig3(c.speedup)}× (slower)`;
};

/**
 * One cold load of the overview page: ms from navigation start to the first
 * contentful paint and to the app's first render (the overview's <h1> in
 * the DOM, stamped by a MutationObserver installed before any page script).
 */
async function firstRenderOnce(base) {
  const b = await launch();
  try {
    await b.page.addInitScript(() => {
      const seen = () => {
        if (document.getElementById('ov-title') && self.__firstRender === undefined) {
          self.__firstRender = performance.now();
          return true;
        }
        return false;
      };
      new MutationObserver((_, o) => { if (seen()) o.disconnect(); })
        .observe(document, { childList: true, subtree: true });
    });
    await b.page.goto(`${base}?exp=overview`);
    await b.page.locator('#ov-title').waitFor();
    await b.page.waitForFunction(() => self.__firstRender !== undefined
      && performance.getEntriesByName('first-contentful-paint').length > 0);
    const t = await b.page.evaluate(() => {
      const nav = performance.getEntriesByType('navigation')[0];
      const res = performance.getEntriesByType('resource');
      const wasm = res.find((r) => /convergence-lab-[0-9a-f]+_bg\.wasm$/.test(r.name));
      return {
        fcp: performance.getEntriesByName('first-contentful-paint')[0].startTime,
        render: self.__firstRender,
        domContentLoaded: nav.domContentLoadedEventEnd,
        wasmLoaded: wasm ? wasm.responseEnd : null,
      };
    });
    if (b.problems.length) throw new Error(b.problems.join('\n'));
    return t;
  } finally {
    await b.close();
  }
}

/** Raw and gzip (level 9) bytes of the page's and the worker's bundle files. */
function bundleSizes(dir) {
  const rows = [];
  for (const f of fs.readdirSync(dir).sort()) {
    if (!/\.(wasm|js)$/.test(f) || f === 'sw.js') continue;
    const body = fs.readFileSync(path.join(dir, f));
    rows.push({ file: f, raw: body.length, gzip: zlib.gzipSync(body, { level: 9 }).length });
  }
  return rows;
}

let server = null;
let base = BASE_URL;
if (serveDir) {
  server = await serveIsolated(serveDir);
  base = server.url;
}
try {
  if (firstRender) {
    const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
    const runs = [];
    for (let i = 0; i < loads; i++) runs.push(await firstRenderOnce(base));
    console.log(`### First render of the overview page (${loads} cold loads, median)\n`);
    console.log('| load | first contentful paint | app rendered (title in DOM) | page wasm downloaded |');
    console.log('|---|---|---|---|');
    runs.forEach((r, i) => console.log(`| ${i + 1} | ${time(r.fcp)} | ${time(r.render)} | ${r.wasmLoaded == null ? '—' : time(r.wasmLoaded)} |`));
    console.log(`| **median** | **${time(median(runs.map((r) => r.fcp)))}** | **${time(median(runs.map((r) => r.render)))}** | ` +
      `${runs.every((r) => r.wasmLoaded != null) ? time(median(runs.map((r) => r.wasmLoaded))) : '—'} |\n`);
    if (serveDir) {
      const rows = bundleSizes(serveDir);
      console.log('| file | bytes | gzip |');
      console.log('|---|---|---|');
      for (const r of rows) console.log(`| ${r.file} | ${r.raw} | ${r.gzip} |`);
      const page = rows.filter((r) => r.file.startsWith('convergence-lab-'));
      console.log(`| **page (wasm + js)** | ${page.reduce((a, r) => a + r.raw, 0)} | ${page.reduce((a, r) => a + r.gzip, 0)} |\n`);
    }
  }
  for (const workers of firstRender ? [] : workersList) {
    const started = Date.now();
    const { report, facts } = await runOnce(base, workers);
    const e = report.execution;
    const chromium = facts.userAgent.match(/(?:Headless)?Chrome\/([\d.]+)/)?.[1] ?? facts.userAgent;
    console.log(`### ${workers} worker${workers === 1 ? '' : 's'}${report.config.quick ? ' (quick check — numbers not meaningful)' : ''}\n`);
    console.log(`Date ${new Date().toISOString().slice(0, 10)}; Chromium ${chromium} (headless); ` +
      `${facts.cores} logical cores; cross-origin isolated: ${facts.isolated ? 'yes' : 'no'}; ` +
      `timer resolution ${e.timer_resolution_us} µs; whole run ${time(e.total_ms)} ` +
      `(page load to result ${time(Date.now() - started)}).\n`);
    console.log('| operation | workers | ops | elapsed | rate | per op | compared with | ratio |');
    console.log('|---|---|---|---|---|---|---|---|');
    for (const r of report.results.rows) {
      const c = r.comparison;
      const against = c ? `${c.value} (${c.against})` : '—';
      const rate = r.rate_per_s == null ? '—' : `${si(r.rate_per_s)}/s`;
      console.log(`| ${r.operation} | ${r.workers} | ${r.ops} ${r.unit}${r.ops === 1 ? '' : 's'} | ${time(r.elapsed_ms)} | ${rate} | ${perOp(r)} | ${against} | ${ratio(c)} |`);
    }
    console.log('');
  }
} finally {
  server?.close();
}
