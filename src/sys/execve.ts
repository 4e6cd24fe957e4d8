// execve(2) from Bun: replaces this process (and all of Bun's threads) with another program,
// keeping the pid and every fd without FD_CLOEXEC. Returns only on failure (a SysError).
import { addressOf, cstr, errno, keepAlive, libc, SysError } from "./libc.ts";

/** A NULL-terminated array of pointers to the strings (kept alive by `keep`). */
function vector(strings: readonly string[], keep: Uint8Array[]): BigUint64Array {
  const v = new BigUint64Array(strings.length + 1);
  strings.forEach((s, i) => {
    const b = cstr(s);
    keep.push(b);
    v[i] = BigInt(addressOf(b));
  });
  return v;
}

export function execve(
  path: string,
  argv: readonly string[],
  env: Record<string, string | undefined>,
): never {
  const keep: Uint8Array[] = [];
  const file = cstr(path);
  const args = vector(argv, keep);
  const envp = vector(
    Object.entries(env).flatMap(([k, v]) => (v === undefined ? [] : [`${k}=${v}`])),
    keep,
  );
  libc().execve(file, args, envp);
  const e = errno();
  keepAlive(keep); // the strings the vectors point at
  throw new SysError("execve", e, path);
}
