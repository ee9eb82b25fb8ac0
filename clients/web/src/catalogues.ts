/**
 * The translations the bundle carries: each `locale/<lang>.po`, compiled to JSON by the build
 * (`node locale.mjs`, the first step of `npm run build`) and embedded here by esbuild, so the page
 * needs no other file (nothing more for the CSP, the integrity pins or the service worker's cache).
 */
import es from "../locale/es.catalogue";
import { addCatalogue } from "./i18n.js";

/** Installs every catalogue the bundle carries. */
export function installCatalogues(): void {
  addCatalogue("es", es);
}
