// Compiled seccomp filters cached per boot under /run/leopard-seccomp (root only, 0700; a rootless
// caller's own $XDG_RUNTIME_DIR/leopard-seccomp): the same profile — the engine's default one above all — is compiled once, not on every create and
// exec (loading libseccomp and compiling docker's profile costs 60–100 ms). The key is a hash of
// the profile, of the compiler's own source and of the libseccomp library file, so a changed
// compiler, a changed library or a different profile never meets an old filter. A cache that
// cannot be read or written is skipped: the filter is compiled as before. A filter is read from
// and written to only a directory of the caller's own (its euid's, no access for group or others,
// not a symlink): an entry someone else could plant would become the container's filter.

import type { SpecSeccomp } from "../config/types.ts";
import { lstatSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "../sys/fs-sync.ts";
import { bundled } from "../util/layout.ts";
import type { CompiledSeccomp } from "./compile.ts";

export const CACHE_DIR = "/run/leopard-seccomp";

/**
 * The cache directory: /run/leopard-seccomp for the host's root; for a rootless caller (a user, or
 * uid 0 in rootless podman's user namespace: src/state/rootless.ts decides)
 * $XDG_RUNTIME_DIR/leopard-seccomp, and none without it.
 */
export function cacheDirFor(
  env: Readonly<Record<string, string | undefined>>,
  rootless: boolean,
): string | undefined {
  if (!rootless) return CACHE_DIR;
  const xdg = env["XDG_RUNTIME_DIR"];
  return xdg?.startsWith("/") ? `${xdg.replace(/\/+$/, "")}/leopard-seccomp` : undefined;
}

/** Whether dir is a directory of the caller's own that no one else may enter (lstat: no symlink). */
function ownDir(dir: string): boolean {
  const st = lstatSync(dir, { throwIfNoEntry: false });
  return st?.isDirectory() === true && st.uid === process.geteuid?.() && (st.mode & 0o077) === 0;
}

const REPO = new URL("../..", import.meta.url).pathname;
const COMPILER = ["compile.ts", "libseccomp.ts", "bpf.ts"].map((f) => `${REPO}src/seccomp/${f}`);

/** The compiler's identity: its sources, or in a bundle (no sources beside it) the bundle file. */
function compilerKey(h: Bun.CryptoHasher): void {
  if (bundled()) {
    const b = statSync(Bun.main);
    h.update(`bundle:${b.ino}:${b.size}:${b.mtimeMs}`);
  } else for (const f of COMPILER) h.update(readFileSync(f));
}
const LIBSECCOMP = "/usr/lib/x86_64-linux-gnu/libseccomp.so.2";

/** The cache key: undefined when the compiler's sources cannot be read (then nothing is cached). */
export function cacheKey(s: SpecSeccomp): string | undefined {
  // Bun's native hasher: node:crypto costs ~8 ms to load, on every create with seccomp.
  const h = new Bun.CryptoHasher("sha256");
  try {
    // Argument values are bigints: written with a suffix so 1 and 1n never share a key.
    h.update(JSON.stringify(s, (_k, v) => (typeof v === "bigint" ? `${v}n` : v)));
    compilerKey(h);
    const lib = statSync(LIBSECCOMP);
    h.update(`${lib.ino}:${lib.size}:${lib.mtimeMs}:${process.arch}`);
  } catch {
    return undefined;
  }
  return h.digest("hex");
}

/** The filter for s, from the cache in dir (cacheDirFor) when there, else compiled (and cached). */
export async function compileCached(s: SpecSeccomp, dir: string | undefined): Promise<CompiledSeccomp> {
  const key = dir === undefined ? undefined : cacheKey(s);
  const file = `${dir}/${key}`;
  if (key !== undefined && dir !== undefined && ownDir(dir)) {
    try {
      const c = JSON.parse(readFileSync(file, "utf8")) as { bpf: string; flags: string; listener?: boolean };
      return {
        bpf: new Uint8Array(Buffer.from(c.bpf, "base64")),
        flags: BigInt(c.flags),
        listener: c.listener === true,
      };
    } catch {
      // a missing, stale or corrupt entry is compiled again
    }
  }
  const compiled = (await import("./compile.ts")).compileSeccomp(s);
  if (key !== undefined && dir !== undefined) {
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      if (!ownDir(dir)) return compiled;
      const tmp = `${file}.${process.pid}.tmp`;
      writeFileSync(
        tmp,
        JSON.stringify({
          bpf: Buffer.from(compiled.bpf).toString("base64"),
          flags: String(compiled.flags),
          listener: compiled.listener,
        }),
        {
          mode: 0o600,
        },
      );
      renameSync(tmp, file);
    } catch {
      // the cache only saves time: failing to write it costs the next call a compile
    }
  }
  return compiled;
}
