import type { BuildOptions } from 'esbuild';

/** Bundled CommonJS dependencies still call require(), which an ESM bundle must define. */
export const REQUIRE_BANNER = "import{createRequire}from'module';const require=createRequire(import.meta.url);";

/** How this project bundles code for Node itself (the worker image, the local Lambda threads): ESM for this Node. */
export const NODE_BUNDLE = {
  bundle: true,
  platform: 'node',
  target: 'node24',
  format: 'esm',
  banner: { js: REQUIRE_BANNER },
  logLevel: 'warning',
} as const satisfies BuildOptions;
