// Convergence Lab service worker: after one visit the lab works offline.
//
// Trunk copies this file to the site root (index.html: `copy-file`), so its
// scope is the directory the site is served from, whatever the sub-path.
// Trunk hashes the app's js/wasm/css names, so there is no fixed file list:
//
// * install: fetch the page (`./`), cache it and every same-origin asset it
//   names (css, the app's js and wasm from the modulepreload/preload links and
//   the inline loader, favicon, manifest), then `./worker_loader.js` and the
//   modules and wasm it pulls in (worker.js → worker_bg.wasm), and the
//   second page bundle `./pages.js` (→ pages_bg.wasm; the app loads it for
//   the rarely used pages), found by reading `import … from '…'` and
//   `new URL('…', import.meta.url)`.
// * fetch (same-origin GETs inside the scope only; nothing else is touched):
//   - hashed assets (`name-<hex hash>[_bg].js|wasm|css`; Trunk prints the
//     64-bit hash without leading zeros, so 8–16 digits): cache first — a
//     hashed name never changes content;
//   - navigations and unhashed files (index, worker_loader.js, worker.js,
//     worker_bg.wasm, pages.js, pages_bg.wasm, favicon, manifest): network
//     first, so a new deploy is picked up while online; the cached copy
//     answers when the network is down (or slower than NETWORK_TIMEOUT_MS
//     and a copy exists).
//   Every successful same-origin response is stored, so whatever a visit
//   loaded is available on the next offline one.
// * Cached responses keep their headers (COOP/COEP when the host sends
//   them), so cross-origin isolation and module workers under
//   `Cross-Origin-Embedder-Policy: require-corp` behave as online.
// * A fresh copy of the page prunes hashed assets it no longer names (old
//   deploys). VERSION only needs a bump when this file's cache layout changes.

const VERSION = 'v1';
const PREFIX = 'convergence-lab-';
const SCOPE = self.registration.scope;
// One origin can host several copies of the lab under different sub-paths
// (and they share CacheStorage): the cache name carries the scope.
const CACHE = `${PREFIX}${VERSION} ${SCOPE}`;
const NETWORK_TIMEOUT_MS = 4000;
const MAX_PRECACHE = 64;

const ASSET_EXT = /\.(?:m?js|wasm|css|svg|png|ico|webp|json|webmanifest|woff2?|txt)(?:[?#][^"'\s]*)?$/i;
const HASHED = /-[0-9a-f]{8,16}(?:_bg)?\.(?:js|wasm|css)$/;

/** Is `url` same-origin, inside our scope and not this worker itself? */
function ours(url) {
  const u = new URL(url);
  if (u.origin !== self.location.origin) return false;
  if (!u.href.startsWith(SCOPE)) return false;
  return u.pathname !== new URL(self.location.href).pathname;
}

function withoutSearch(url) {
  const u = new URL(url);
  u.search = '';
  u.hash = '';
  return u.href;
}

function isHashed(url) {
  return HASHED.test(new URL(url).pathname);
}

/** Quoted strings in the page that name an asset (href/src, inline imports). */
function assetsOfHtml(html, base) {
  const out = new Set();
  for (const m of html.matchAll(/["']([^"'\s<>]+)["']/g)) {
    if (!ASSET_EXT.test(m[1]) || m[1].startsWith('data:')) continue;
    const url = new URL(m[1], base);
    url.hash = '';
    if (ours(url.href)) out.add(url.href);
  }
  return out;
}

/**
 * Modules and files a JS module loads: static/dynamic imports always;
 * `new URL('…', import.meta.url)` only when `followUrls` (the page already
 * names the app's own wasm, and its bindings' default wasm name does not
 * exist under Trunk).
 */
function assetsOfJs(js, base, followUrls) {
  const out = new Set();
  const patterns = [
    /\b(?:import|export)\s*(?:[\w$*{}\s,]+?\s*from\s*)?["']([^"']+)["']/g,
    /\bimport\s*\(\s*["']([^"']+)["']\s*\)/g,
  ];
  if (followUrls) patterns.push(/\bnew\s+URL\s*\(\s*["']([^"']+)["']\s*,\s*import\.meta\.url\s*\)/g);
  for (const re of patterns) {
    for (const m of js.matchAll(re)) {
      const url = new URL(m[1], base);
      url.hash = '';
      if (ours(url.href)) out.add(url.href);
    }
  }
  return out;
}

/** A copy without the `redirected` flag (navigations refuse those). */
async function storable(response) {
  if (!response.redirected) return response;
  return new Response(await response.blob(), {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
}

function cacheable(response) {
  return response && response.ok && response.type === 'basic';
}

/** Deletes cached hashed assets the current page no longer names. */
async function prune(cache, keep) {
  for (const req of await cache.keys()) {
    if (isHashed(req.url) && !keep.has(req.url)) await cache.delete(req);
  }
}

async function precache() {
  const cache = await caches.open(CACHE);
  const index = indexUrl();
  const page = await fetch(index, { cache: 'no-cache' });
  if (!cacheable(page)) throw new Error(`precache: ${index} answered ${page.status}`);
  const html = await page.clone().text();
  await cache.put(index, await storable(page));

  const fromHtml = assetsOfHtml(html, index);
  const extra = ['./worker_loader.js', './pages.js'].map((f) => new URL(f, SCOPE).href);
  const queue = [...new Set([...fromHtml, ...extra])];
  const seen = new Set(queue);
  while (queue.length > 0 && seen.size <= MAX_PRECACHE) {
    const batch = queue.splice(0, queue.length);
    await Promise.allSettled(batch.map(async (url) => {
      const res = await fetch(url, { cache: 'no-cache' });
      if (!cacheable(res)) return;
      if (/\.m?js$/i.test(new URL(url).pathname)) {
        const found = assetsOfJs(await res.clone().text(), url, !fromHtml.has(url));
        for (const next of found) {
          if (!seen.has(next)) { seen.add(next); queue.push(next); }
        }
      }
      await cache.put(url, await storable(res));
    }));
  }
  await prune(cache, fromHtml);
}

self.addEventListener('install', (event) => {
  event.waitUntil(precache().then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith(PREFIX) && name.endsWith(` ${SCOPE}`) && name !== CACHE) {
        await caches.delete(name);
      }
    }
    await self.clients.claim();
  })());
});

/** Cache first: hashed names never change content. */
async function cacheFirst(request) {
  const cache = await caches.open(CACHE);
  const hit = await cache.match(request);
  if (hit) return hit;
  const res = await fetch(request);
  if (cacheable(res)) await cache.put(request, await storable(res.clone()));
  return res;
}

/**
 * Network first; the cached copy when the network fails, or when it is slower
 * than NETWORK_TIMEOUT_MS and a copy exists. The response is stored under
 * `key`; `lookups` are tried in order to find a copy.
 */
async function networkFirst(request, key, lookups) {
  // (`request` is what goes to the network, `key` what the cache stores.)
  const cache = await caches.open(CACHE);
  const cached = async () => {
    for (const lookup of lookups) {
      const hit = await lookup(cache);
      if (hit) return hit;
    }
    return undefined;
  };
  const network = fetch(request).then(async (res) => {
    if (cacheable(res)) {
      const copy = await storable(res.clone());
      if (request.mode === 'navigate' && key === indexUrl()) {
        const html = await copy.clone().text();
        await cache.put(key, copy);
        await prune(cache, assetsOfHtml(html, key));
      } else {
        await cache.put(key, copy);
      }
    }
    return res;
  });
  network.catch(() => {}); // a late failure after the cache answered is fine
  let timer;
  const timeout = new Promise((resolve) => { timer = setTimeout(resolve, NETWORK_TIMEOUT_MS); });
  try {
    const first = await Promise.race([network, timeout]);
    if (first) return first;
    return (await cached()) ?? (await network);
  } catch (err) {
    const hit = await cached();
    if (hit) return hit;
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

function indexUrl() {
  return new URL('./', SCOPE).href;
}

self.addEventListener('fetch', (event) => {
  const { request } = event;
  if (request.method !== 'GET' || !ours(request.url)) return;
  if (request.headers.has('range')) return;
  if (request.mode === 'navigate') {
    const key = withoutSearch(request.url);
    event.respondWith(networkFirst(request, key, [
      (c) => c.match(key),
      (c) => c.match(indexUrl()),
    ]).then(storable));
  } else if (isHashed(request.url)) {
    event.respondWith(cacheFirst(request));
  } else {
    // Unhashed names (worker_loader.js, worker.js, worker_bg.wasm…) change
    // content across deploys: revalidate instead of trusting the HTTP cache,
    // so the worker's js and wasm always match the page that loads them.
    const fresh = new Request(request, { cache: 'no-cache' });
    event.respondWith(networkFirst(fresh, request, [
      (c) => c.match(request),
      (c) => c.match(request, { ignoreSearch: true }),
    ]));
  }
});
