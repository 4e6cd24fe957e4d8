// Where leopard's files are, for code that starts another of them (a worker, conmon's runtime,
// the unpack thread) or keys a cache on the build. Two layouts share one rule:
//   the checkout: <top>/build/cli/*.js (bundles), <top>/bin/*, <top>/native/build/leopard-helper;
//   installed:    <prefix>/lib/leopard/*.js and leopard-helper, <prefix>/bin/*.
// A bundle finds its directory from the entry point Bun runs (Bun.main): `bun build --bytecode`
// writes the build machine's source path into import.meta.url, so that cannot say where the
// installed tree is. Run from the TypeScript sources, the checkout is two levels above this file.
import { dirname, join } from "./path.ts";

/** Defined (true) by `bun build --define LEOPARD_BUNDLE=true` (the Makefile's bundles). */
declare const LEOPARD_BUNDLE: boolean;

/** Whether this code runs from a bundle (installed or in the checkout's build/cli). */
export function bundled(): boolean {
  return typeof LEOPARD_BUNDLE !== "undefined" && LEOPARD_BUNDLE;
}

/** The directory of the bundles: lib/leopard when installed, build/cli in the checkout. */
export function bundleDir(): string {
  if (bundled()) return dirname(Bun.main);
  return join(new URL("../..", import.meta.url).pathname, "build/cli");
}

/** The directory of the launchers bin/leopard-oci and bin/leopard (two levels above the bundles). */
export function binDir(): string {
  return join(bundleDir(), "../../bin");
}

/** The bundle of one entry point (leopard-oci, leopard, unpack-worker) beside the running one. */
export function bundlePath(name: string): string {
  return join(bundleDir(), `${name}.js`);
}
