// A bundle's build stamp: its mtime as the launcher (native/launch.c) formats it and sends with
// each call, so a worker of another build declines.
import { statSync } from "../sys/fs-sync.ts";

/** The bundle's mtime as the launcher formats it ("%lld.%09ld"). */
export function bundleStamp(bundle: string): string {
  const ns = statSync(bundle).mtimeNs;
  return `${ns / 1_000_000_000n}.${String(ns % 1_000_000_000n).padStart(9, "0")}`;
}
