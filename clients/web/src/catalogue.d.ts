/** A catalogue compiled from a `.po` by the build (locale.mjs): see i18n.ts `Catalogue`. */
declare module "*.catalogue" {
  const catalogue: Readonly<Record<string, string | readonly string[]>>;
  export default catalogue;
}
