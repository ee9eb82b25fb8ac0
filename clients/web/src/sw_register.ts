/**
 * Registers the service worker (`/sw.js`, built from sw.ts) that keeps the app shell for offline
 * use (spec 15.8.3). Call once when the page starts; it does nothing where service workers are not
 * available (an insecure context, a browser without them) and never throws: the page works without.
 */

/** Registers `/sw.js` for the whole origin; resolves with the registration, or null if none. */
export async function registerServiceWorker(nav: Navigator = navigator): Promise<ServiceWorkerRegistration | null> {
  if (!("serviceWorker" in nav)) return null;
  try {
    return await nav.serviceWorker.register("/sw.js", { scope: "/" });
  } catch {
    return null;
  }
}
