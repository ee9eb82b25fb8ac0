/**
 * The service worker (built to `dist/sw.js`, registered by sw_register.ts): keeps the app shell so
 * the page opens offline, and nothing else (spec 15.8.3).
 *
 * - **The shell** is the page and what it names: its scripts and links (stylesheet, manifest, icons)
 *   and the icons the manifest names. It is kept in one cache per version, `holdspace-shell-` and the
 *   page's integrity hash of its first script (the bundle's SHA-384, which the page pins), so a new
 *   bundle gets a new cache and the old one is deleted once the new one is complete.
 * - **The page** (a navigation, `/` or `/join`) is fetched from the node first, so an online visit
 *   always gets the node's current page; the cache answers only when the node cannot be reached (or
 *   does not answer within `PAGE_TIMEOUT_MS`). Each page fetched is checked for a new version.
 * - **Shell files** are answered from the current version's cache, else from the network.
 * - **Everything else** (`/node.json`, the WebSocket and WebTransport, any other request) goes to the
 *   network untouched and is never cached: node API traffic is live or nothing.
 *
 * Invariants: a cache holds exactly one version's files, all of them (a version is kept only once
 * every file was fetched); the worker never answers with a file of another version than the page
 * it serves, so the page's integrity hashes always match.
 */

interface ExtendableEventLike extends Event {
  waitUntil(p: Promise<unknown>): void;
}
interface FetchEventLike extends ExtendableEventLike {
  readonly request: Request;
  respondWith(r: Promise<Response> | Response): void;
}
interface WorkerScope {
  readonly location: Location;
  addEventListener(type: "install" | "activate", f: (e: ExtendableEventLike) => void): void;
  addEventListener(type: "fetch", f: (e: FetchEventLike) => void): void;
  skipWaiting(): Promise<void>;
  readonly clients: { claim(): Promise<void> };
}

const scope = globalThis as unknown as WorkerScope;
const PREFIX = "holdspace-shell-";
const PAGE = "/";
const PAGES = new Set(["/", "/join"]);
export const PAGE_TIMEOUT_MS = 4000;

/** The version a page names: the integrity value of its first script (the bundle's hash). */
export function versionOf(page: string): string | null {
  const m = /<script\b[^>]*\bintegrity="([^"]+)"/.exec(page);
  return m === null ? null : m[1]!;
}

/** Same-origin paths a page names in `src` or `href` (its scripts, stylesheets, manifest, icons). */
export function namedPaths(page: string): string[] {
  const found = new Set<string>();
  for (const m of page.matchAll(/\b(?:src|href)="(\/[^"/][^"]*)"/g)) found.add(m[1]!);
  return [...found];
}

/** Icon paths a web app manifest names. */
function manifestIcons(text: string): string[] {
  try {
    const m = JSON.parse(text) as { icons?: { src?: unknown }[] };
    return (m.icons ?? []).map((i) => i.src).filter((s): s is string => typeof s === "string" && s.startsWith("/"));
  } catch {
    return [];
  }
}

async function currentCache(): Promise<string | null> {
  const names = (await caches.keys()).filter((n) => n.startsWith(PREFIX));
  return names.length === 0 ? null : names[names.length - 1]!;
}

/** Keep `page` (its response `response`) and every file it names as the version it names, if that is
 * not the one kept already; the older versions go once the new one is complete. */
async function keep(response: Response): Promise<void> {
  const page = await response.clone().text();
  const version = versionOf(page);
  if (version === null) return;
  const name = PREFIX + version;
  if ((await caches.keys()).includes(name)) return;
  const staging = await caches.open(name + "-staging");
  try {
    await staging.put(PAGE, response.clone());
    const paths = namedPaths(page);
    for (const path of paths) {
      const r = await fetch(path, { cache: "no-cache" });
      if (!r.ok) return;
      await staging.put(path, r.clone());
      if (path.endsWith(".webmanifest")) {
        for (const icon of manifestIcons(await r.text())) {
          const ir = await fetch(icon, { cache: "no-cache" });
          if (ir.ok) await staging.put(icon, ir);
        }
      }
    }
    const done = await caches.open(name);
    for (const req of await staging.keys()) {
      const r = await staging.match(req);
      if (r !== undefined) await done.put(req, r);
    }
    for (const old of await caches.keys()) if (old.startsWith(PREFIX) && old !== name) await caches.delete(old);
  } finally {
    await caches.delete(name + "-staging");
  }
}

async function fetchPage(request: Request): Promise<Response> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), PAGE_TIMEOUT_MS);
  try {
    return await fetch(request, { signal: controller.signal });
  } finally {
    clearTimeout(timer);
  }
}

async function page(event: FetchEventLike): Promise<Response> {
  try {
    const r = await fetchPage(event.request);
    if (r.ok) event.waitUntil(keep(r.clone()).catch(() => undefined));
    return r;
  } catch {
    const name = await currentCache();
    const cached = name === null ? undefined : await (await caches.open(name)).match(PAGE);
    return cached ?? new Response("Holdspace is offline and this device has no copy of the page yet.\n", {
      status: 503,
      headers: { "content-type": "text/plain; charset=utf-8" },
    });
  }
}

async function shellFile(request: Request): Promise<Response> {
  const name = await currentCache();
  const cached = name === null ? undefined : await (await caches.open(name)).match(new URL(request.url).pathname);
  return cached ?? fetch(request);
}

if (typeof caches !== "undefined" && "skipWaiting" in scope) {
  scope.addEventListener("install", (event) => {
    event.waitUntil(
      fetch(PAGE, { cache: "no-cache" })
        .then((r) => (r.ok ? keep(r) : undefined))
        .catch(() => undefined)
        .then(() => scope.skipWaiting()),
    );
  });
  scope.addEventListener("activate", (event) => event.waitUntil(scope.clients.claim()));
  scope.addEventListener("fetch", (event) => {
    const request = event.request;
    const url = new URL(request.url);
    if (request.method !== "GET" || url.origin !== scope.location.origin) return;
    if (request.mode === "navigate" || PAGES.has(url.pathname)) {
      if (PAGES.has(url.pathname)) event.respondWith(page(event));
      return;
    }
    if (url.pathname === "/node.json" || url.pathname === "/ws" || url.pathname === "/wt") return;
    event.respondWith(shellFile(request));
  });
}
