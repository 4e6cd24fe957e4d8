// `leopard build [-t NAME]... [-f FILE] [--build-arg K=V]... [--target STAGE] [--no-cache] [--pull]
// [--network bridge|none|host] [--label K=V]... [--platform P] [-q] CONTEXT` (src/build).
import { existsSync, statSync } from "node:fs";
import { build } from "../build/build.ts";
import { canonicalTag } from "../image/manage.ts";
import { writeAll } from "../sys/io.ts";
import { LeopardError } from "../util/errors.ts";
import { resolve } from "../util/path.ts";
import { openEngine, strs } from "./engine-common.ts";
import { str, type Verb } from "./image-common.ts";

function pairs(list: string[], flag: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const kv of list) {
    const i = kv.indexOf("=");
    if (i === 0) throw new LeopardError("invalid-argument", `${flag} "${kv}" has no name`);
    // docker: --build-arg NAME alone takes NAME from the environment.
    if (i < 0) {
      const v = process.env[kv];
      if (v !== undefined) out.set(kv, v);
      continue;
    }
    out.set(kv.slice(0, i), kv.slice(i + 1));
  }
  return out;
}

export const buildVerb: Verb = {
  usage:
    "build [-t NAME]... [-f FILE] [--build-arg K=V]... [--target STAGE] [--no-cache] [--pull] [--network bridge|none|host] [--label K=V]... [--platform OS/ARCH] [-q] CONTEXT",
  options: {
    tag: { type: "string", short: "t", multiple: true },
    file: { type: "string", short: "f" },
    "build-arg": { type: "string", multiple: true },
    target: { type: "string" },
    "no-cache": { type: "boolean" },
    pull: { type: "boolean" },
    network: { type: "string" },
    label: { type: "string", multiple: true },
    platform: { type: "string" },
    quiet: { type: "boolean", short: "q" },
  },
  args: ["context"],
  async run(g, v, [contextArg]) {
    const context = resolve(contextArg ?? ".");
    if (!existsSync(context) || !statSync(context).isDirectory())
      throw new LeopardError("not-found", `build context "${contextArg}" is not a directory`);
    const fileArg = str(v, "file");
    let file: string;
    let fileName: string;
    if (fileArg !== undefined) {
      file = resolve(fileArg);
      fileName = fileArg;
    } else {
      fileName =
        existsSync(`${context}/Containerfile`) && !existsSync(`${context}/Dockerfile`)
          ? "Containerfile"
          : "Dockerfile";
      file = `${context}/${fileName}`;
    }
    // As docker: RUN steps on the default bridge network unless told otherwise.
    let network = str(v, "network") ?? "bridge";
    if (network === "default") network = "bridge";
    if (network !== "none" && network !== "host" && network !== "bridge")
      throw new LeopardError("invalid-argument", `--network "${network}" must be bridge, none or host`);
    const tags = strs(v["tag"]).map(canonicalTag);
    const labels = Object.fromEntries(pairs(strs(v["label"]), "--label"));
    const quiet = v["quiet"] === true;
    const engine = openEngine(g);
    try {
      const img = await build(
        { store: engine.store, dirs: engine.dirs, oci: engine.oci },
        {
          context,
          file,
          fileName,
          tags,
          buildArgs: pairs(strs(v["build-arg"]), "--build-arg"),
          target: str(v, "target"),
          noCache: v["no-cache"] === true,
          pull: v["pull"] === true,
          network,
          labels,
          platform: str(v, "platform"),
          quiet,
          print: (t) => writeAll(1, t),
          output: (fd, c) => {
            try {
              writeAll(fd, c);
            } catch {
              // our stdout or stderr is gone: the step's output has nowhere to go, the build goes on
            }
          },
          tty: process.stdout.isTTY === true,
        },
      );
      writeAll(1, `${img.id.replace(/^sha256:/, "")}\n`);
    } finally {
      engine.close();
    }
    return 0;
  },
};
