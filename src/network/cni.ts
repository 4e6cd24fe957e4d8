// Running CNI plugins: one binary per call, the configuration on stdin, parameters in CNI_*
// variables, a result or an error object on stdout (CNI spec section 2).
import { existsSync } from "node:fs";
import { SYSTEM_PATH } from "../sys/host-tool.ts";
import { LeopardError } from "../util/errors.ts";
import { join } from "../util/path.ts";
import type { Conflist } from "./conflist.ts";
import { pluginErrorMessage, pluginInput, type RuntimeValues } from "./result.ts";

export type CniCommand = "ADD" | "DEL" | "CHECK";

export interface CniCall {
  containerId: string;
  /** Path of the pinned namespace; "" on a DEL whose namespace is gone. */
  netns: string;
  ifname: string;
  pluginDirs: readonly string[];
  runtime: RuntimeValues;
}

/** A plugin failed; the message names the network and plugin. */
export class CniError extends LeopardError {
  constructor(
    readonly network: string,
    readonly plugin: string,
    readonly command: CniCommand,
    message: string,
  ) {
    super("system", `network "${network}": CNI ${command} of plugin "${plugin}": ${message}`);
  }
}

function findPlugin(type: string, dirs: readonly string[], network: string, command: CniCommand): string {
  if (!/^[a-zA-Z0-9_.-]+$/.test(type)) throw new CniError(network, type, command, "invalid plugin name");
  for (const d of dirs) {
    const p = join(d, type);
    if (existsSync(p)) return p;
  }
  throw new CniError(network, type, command, `plugin not found in ${dirs.join(":")}`);
}

async function execPlugin(
  list: Conflist,
  index: number,
  command: CniCommand,
  call: CniCall,
  prevResult: unknown,
): Promise<unknown> {
  const plugin = list.plugins[index]!;
  const bin = findPlugin(plugin.type, call.pluginDirs, list.name, command);
  const input = JSON.stringify(pluginInput(list, plugin, call.runtime, prevResult));
  const proc = Bun.spawn([bin], {
    stdin: new TextEncoder().encode(input),
    stdout: "pipe",
    stderr: "pipe",
    env: {
      PATH: SYSTEM_PATH, // a plugin's own tools (iptables, ip) are the system's, never the caller's
      CNI_COMMAND: command,
      CNI_CONTAINERID: call.containerId,
      CNI_NETNS: call.netns,
      CNI_IFNAME: call.ifname,
      CNI_ARGS: "IgnoreUnknown=1",
      CNI_PATH: call.pluginDirs.join(":"),
    },
  });
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  if (code !== 0) throw new CniError(list.name, plugin.type, command, pluginErrorMessage(out, err, code));
  if (command !== "ADD" || out.trim() === "") return undefined;
  try {
    return JSON.parse(out);
  } catch {
    throw new CniError(list.name, plugin.type, command, "the plugin printed a result that is not JSON");
  }
}

/**
 * ADD: each plugin in order, each given the previous one's result; returns the last result.
 * A plugin may return nothing, in which case the previous result carries on.
 */
export async function addList(list: Conflist, call: CniCall): Promise<unknown> {
  let result: unknown;
  for (let i = 0; i < list.plugins.length; i++) {
    result = (await execPlugin(list, i, "ADD", call, result)) ?? result;
  }
  return result;
}

/**
 * DEL: every plugin in reverse order with the cached ADD result (undefined when it was never
 * stored). All run even if one fails — each frees what it can — and the first error is thrown.
 */
export async function delList(list: Conflist, call: CniCall, cached: unknown): Promise<void> {
  let first: unknown;
  for (let i = list.plugins.length - 1; i >= 0; i--) {
    try {
      await execPlugin(list, i, "DEL", call, cached);
    } catch (e) {
      first ??= e;
    }
  }
  if (first !== undefined) throw first;
}

/** CHECK: every plugin in order with the cached ADD result; throws the first failure. */
export async function checkList(list: Conflist, call: CniCall, cached: unknown): Promise<void> {
  for (let i = 0; i < list.plugins.length; i++) await execPlugin(list, i, "CHECK", call, cached);
}
