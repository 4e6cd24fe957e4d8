// `leopard run` and `leopard create`: docker's flags → a CreateRequest; run then starts it
// detached (-d, under conmon) or in the foreground (no monitor) and returns its exit status.
import { readFileSync } from "node:fs";
import { DEFAULT_STOP_TIMEOUT } from "../engine/config.ts";
import type { CreateRequest, PullPolicy } from "../engine/engine.ts";
import { parseAddHost } from "../engine/etc-files.ts";
import {
  expandEnv,
  parseCpus,
  parseDevice,
  parseEnvFile,
  parseLabel,
  parsePublish,
  parseSize,
  parseSysctl,
  parseTmpfs,
  parseUlimit,
  parseVolume,
} from "../engine/flags.ts";
import { removeContainer, runForeground, startDetached } from "../engine/lifecycle.ts";
import { mark } from "../sys/trace.ts";
import { LeopardError } from "../util/errors.ts";
import { openEngine, strs } from "./engine-common.ts";
import { type Globals, type Options, str, type Values, type Verb } from "./image-common.ts";

const many = { type: "string", multiple: true } as const;

export const CREATE_OPTIONS: Options = {
  detach: { type: "boolean", short: "d" },
  interactive: { type: "boolean", short: "i" },
  tty: { type: "boolean", short: "t" },
  rm: { type: "boolean" },
  name: { type: "string" },
  env: { ...many, short: "e" },
  "env-file": many,
  workdir: { type: "string", short: "w" },
  user: { type: "string", short: "u" },
  hostname: { type: "string", short: "h" },
  entrypoint: { type: "string" },
  init: { type: "boolean" },
  "stop-signal": { type: "string" },
  "stop-timeout": { type: "string" },
  volume: { ...many, short: "v" },
  tmpfs: many,
  "read-only": { type: "boolean" },
  memory: { type: "string", short: "m" },
  "memory-swap": { type: "string" },
  cpus: { type: "string" },
  "cpu-shares": { type: "string", short: "c" },
  "pids-limit": { type: "string" },
  ulimit: many,
  "cap-add": many,
  "cap-drop": many,
  "security-opt": many,
  privileged: { type: "boolean" },
  device: many,
  sysctl: many,
  label: { ...many, short: "l" },
  platform: { type: "string" },
  pull: { type: "string" },
  network: { type: "string" },
  net: { type: "string" },
  publish: { ...many, short: "p" },
  dns: many,
  "add-host": many,
  "tls-verify": { type: "string" },
  "log-opt": many,
};

/** --log-opt max-size=10m (the only option of the k8s-file log driver that conmon has). */
function logMaxSize(v: Values): number | undefined {
  let size: number | undefined;
  for (const o of strs(v["log-opt"])) {
    if (o.startsWith("max-size=")) size = parseSize(o.slice("max-size=".length), "--log-opt max-size");
    else throw new LeopardError("invalid-argument", `--log-opt "${o}" is not supported (max-size=SIZE is)`);
  }
  return size;
}

function int(v: string | undefined, flag: string, min = 0): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!/^-?\d+$/.test(v) || n < min)
    throw new LeopardError("invalid-argument", `${flag} "${v}" must be an integer of at least ${min}`);
  return n;
}

/** The flags of create/run, checked; the image and command from the positionals. */
export function createRequest(v: Values, image: string, cmd: string[], env = process.env): CreateRequest {
  let seccomp = "default";
  let noNewPrivileges = false;
  for (const o of strs(v["security-opt"])) {
    if (o === "no-new-privileges" || o === "no-new-privileges=true" || o === "no-new-privileges:true")
      noNewPrivileges = true;
    else if (o === "seccomp=unconfined" || o === "seccomp:unconfined") seccomp = "unconfined";
    else if (o.startsWith("seccomp=") || o.startsWith("seccomp:")) {
      const file = o.slice("seccomp=".length);
      try {
        seccomp = JSON.stringify(JSON.parse(readFileSync(file, "utf8")));
      } catch (e) {
        throw new LeopardError(
          "invalid-argument",
          `--security-opt seccomp="${file}": ${(e as Error).message}`,
        );
      }
    } else throw new LeopardError("invalid-argument", `--security-opt "${o}" is not supported`);
  }
  const pull = (str(v, "pull") ?? "missing") as PullPolicy;
  if (!["missing", "always", "never"].includes(pull))
    throw new LeopardError("invalid-argument", `--pull "${pull}" must be missing, always or never`);
  const cpus = str(v, "cpus") === undefined ? undefined : parseCpus(str(v, "cpus") ?? "");
  const memory = str(v, "memory") === undefined ? undefined : parseSize(str(v, "memory") ?? "", "--memory");
  // docker's floor: a smaller limit would only make the container fail to start.
  if (memory !== undefined && memory < 6 * 1024 * 1024)
    throw new LeopardError("invalid-argument", "Minimum memory limit allowed is 6MB");
  const swapText = str(v, "memory-swap");
  const memorySwap =
    swapText === undefined ? undefined : swapText === "-1" ? -1 : parseSize(swapText, "--memory-swap");
  if (memorySwap !== undefined && memorySwap !== -1 && memory !== undefined && memorySwap < memory)
    throw new LeopardError(
      "invalid-argument",
      "--memory-swap must be at least --memory (it counts memory plus swap)",
    );
  const envFiles = strs(v["env-file"]).flatMap((f) => {
    let text: string;
    try {
      text = readFileSync(f, "utf8");
    } catch {
      throw new LeopardError("not-found", `--env-file "${f}": no such file`);
    }
    return parseEnvFile(text, env);
  });
  const network = str(v, "network") ?? str(v, "net") ?? "leopard";
  return {
    image,
    cmd,
    pull,
    platform: str(v, "platform"),
    name: str(v, "name"),
    entrypoint: str(v, "entrypoint"),
    env: [...envFiles, ...expandEnv(strs(v["env"]), env)],
    workingDir: str(v, "workdir"),
    user: str(v, "user"),
    hostname: str(v, "hostname"),
    tty: v["tty"] === true,
    interactive: v["interactive"] === true,
    readOnly: v["read-only"] === true,
    tmpfs: strs(v["tmpfs"]).map(parseTmpfs),
    volumes: strs(v["volume"]).map(parseVolume),
    memory,
    memorySwap,
    cpuQuota: cpus?.quota,
    cpuPeriod: cpus?.period,
    cpuShares: int(str(v, "cpu-shares"), "--cpu-shares", 2),
    pidsLimit: int(str(v, "pids-limit"), "--pids-limit", -1),
    ulimits: strs(v["ulimit"]).map(parseUlimit),
    capAdd: strs(v["cap-add"]),
    capDrop: strs(v["cap-drop"]),
    seccomp,
    noNewPrivileges,
    privileged: v["privileged"] === true,
    devices: strs(v["device"]).map(parseDevice),
    sysctls: Object.fromEntries(strs(v["sysctl"]).map(parseSysctl)),
    labels: Object.fromEntries(strs(v["label"]).map(parseLabel)),
    init: v["init"] === true,
    stopSignal: str(v, "stop-signal"),
    stopTimeout: int(str(v, "stop-timeout"), "--stop-timeout") ?? DEFAULT_STOP_TIMEOUT,
    network: network === "bridge" || network === "default" ? "leopard" : network,
    publish: strs(v["publish"]).map(parsePublish),
    dns: strs(v["dns"]),
    addHosts: strs(v["add-host"]).map(parseAddHost),
    autoRemove: v["rm"] === true,
    logMaxSize: logMaxSize(v),
    tlsVerify: str(v, "tls-verify") === undefined ? undefined : str(v, "tls-verify") !== "false",
  };
}

async function runVerbImpl(g: Globals, v: Values, a: string[], startIt: boolean): Promise<number> {
  const [image = "", ...cmd] = a;
  const req = createRequest(v, image, cmd);
  const engine = openEngine(g);
  mark("engine: opened");
  try {
    const rec = await engine.create(req);
    mark("engine: created");
    if (!startIt) {
      process.stdout.write(`${rec.id}\n`);
      return 0;
    }
    if (v["detach"] === true) {
      try {
        await startDetached(engine, rec);
      } catch (e) {
        if (req.autoRemove)
          await removeContainer(engine, rec, { force: true, volumes: true }).catch(() => undefined);
        throw e;
      }
      process.stdout.write(`${rec.id}\n`);
      return 0;
    }
    try {
      return await runForeground(engine, rec);
    } catch (e) {
      if (req.autoRemove)
        await removeContainer(engine, rec, { force: true, volumes: true }).catch(() => undefined);
      throw e;
    }
  } finally {
    engine.close();
  }
}

export const runVerb: Verb = {
  usage: "run [OPTIONS] IMAGE [COMMAND] [ARG...]",
  options: CREATE_OPTIONS,
  args: ["IMAGE", "COMMAND?"],
  rest: true,
  run: (g, v, a) => runVerbImpl(g, v, a, true),
};

export const createVerb: Verb = {
  usage: "create [OPTIONS] IMAGE [COMMAND] [ARG...]",
  options: CREATE_OPTIONS,
  args: ["IMAGE", "COMMAND?"],
  rest: true,
  run: (g, v, a) => runVerbImpl(g, v, a, false),
};
