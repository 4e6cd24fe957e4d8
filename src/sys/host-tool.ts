// Programs leopard starts on the host for its own work (iptables*, ip, nsenter, ps, du, cp, zstd,
// xz, busctl, busybox, conmon, the CNI plugins, the helper for an id map): found on a fixed PATH
// of system directories and started with the environment stripped of the variables that make a
// program load code or read files it otherwise would not. The caller's PATH and loader variables
// are the caller's business in the caller's own processes; in a program leopard starts they would
// let whoever set them choose what runs with leopard's privileges (a warm worker of `serve` acts
// for many callers). Everything else in the environment (LEOPARD_*, HOME, …) is kept.
//
// Not host tools: the container's process (its environment is config.json's, exactly as given)
// and OCI hooks (config.json gives them theirs too).

import { SYSTEM_PATH } from "../util/system-path.ts";

export { SYSTEM_PATH };

/**
 * Variables a host tool never gets: glibc's list of those it ignores in set-uid programs, shells'
 * and interpreters' start-up files and module paths, and iptables' extension directory.
 */
const EXACT = new Set([
  "GCONV_PATH",
  "GETCONF_DIR",
  "GLIBC_TUNABLES",
  "HOSTALIASES",
  "LOCALDOMAIN",
  "LOCPATH",
  "NIS_PATH",
  "NLSPATH",
  "RESOLV_HOST_CONF",
  "RES_OPTIONS",
  "TMPDIR",
  "TZDIR",
  "BASH_ENV",
  "ENV",
  "SHELLOPTS",
  "BASHOPTS",
  "PS4",
  "IFS",
  "CDPATH",
  "GLOBIGNORE",
  "NODE_OPTIONS",
  "NODE_PATH",
  "XTABLES_LIBDIR",
  "IPTABLES_LIB_DIR",
  "IP6TABLES_LIB_DIR",
]);
const PREFIXES = ["LD_", "MALLOC_", "PYTHON", "PERL", "RUBY", "BASH_FUNC_"];

/** Whether a host tool must not get this variable (it could make the tool load or read files). */
export function isLoaderVariable(name: string): boolean {
  return EXACT.has(name) || PREFIXES.some((p) => name.startsWith(p));
}

/** env (default: this process's) without loader variables, with PATH the system's. */
export function hostToolEnv(env: Record<string, string | undefined> = process.env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && !isLoaderVariable(k)) out[k] = v;
  out["PATH"] = SYSTEM_PATH;
  return out;
}

type SpawnOptions<
  In extends Bun.SpawnOptions.Writable,
  Out extends Bun.SpawnOptions.Readable,
  Err extends Bun.SpawnOptions.Readable,
> = Omit<Bun.SpawnOptions.SpawnOptions<In, Out, Err>, "env">;
type SpawnSyncOptions<
  In extends Bun.SpawnOptions.Writable,
  Out extends Bun.SpawnOptions.Readable,
  Err extends Bun.SpawnOptions.Readable,
> = Omit<Bun.SpawnOptions.SpawnSyncOptions<In, Out, Err>, "env">;

/**
 * Bun.spawn for a host tool: argv[0] is looked up on SYSTEM_PATH (Bun resolves it on the PATH of
 * the env it is given), the environment is hostToolEnv().
 */
export function spawnTool<
  const In extends Bun.SpawnOptions.Writable = "ignore",
  const Out extends Bun.SpawnOptions.Readable = "pipe",
  const Err extends Bun.SpawnOptions.Readable = "inherit",
>(argv: string[], options?: SpawnOptions<In, Out, Err>): Bun.Subprocess<In, Out, Err> {
  return Bun.spawn(argv, { ...options, env: hostToolEnv() } as Bun.SpawnOptions.SpawnOptions<In, Out, Err>);
}

/** Bun.spawnSync for a host tool, as spawnTool. */
export function spawnToolSync<
  const In extends Bun.SpawnOptions.Writable = "ignore",
  const Out extends Bun.SpawnOptions.Readable = "pipe",
  const Err extends Bun.SpawnOptions.Readable = "pipe",
>(argv: string[], options?: SpawnSyncOptions<In, Out, Err>): Bun.SyncSubprocess<Out, Err> {
  return Bun.spawnSync(argv, { ...options, env: hostToolEnv() } as Bun.SpawnOptions.SpawnSyncOptions<
    In,
    Out,
    Err
  >);
}
