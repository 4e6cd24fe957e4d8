// `leopard volume create|ls|rm|inspect|prune`: named volumes.

import { parseLabel } from "../engine/flags.ts";
import { newId } from "../engine/names.ts";
import { ANONYMOUS, createVolume, removeVolume, volumePath } from "../engine/volumes.ts";
import { LeopardError } from "../util/errors.ts";
import { openEngine, strs, table } from "./engine-common.ts";
import { formatRows, isTemplate, renderEach } from "./format.ts";
import { str, type Verb } from "./image-common.ts";

export const volumeCreateVerb: Verb = {
  usage: "volume create [--label K=V] [NAME]",
  options: { label: { type: "string", multiple: true } },
  args: ["NAME?"],
  run: (g, v, a) => {
    const engine = openEngine(g);
    try {
      const name = a[0] ?? newId();
      const rec = createVolume(
        engine.db,
        engine.dirs,
        name,
        Object.fromEntries(strs(v["label"]).map(parseLabel)),
      );
      process.stdout.write(`${rec.name}\n`);
      return 0;
    } finally {
      engine.close();
    }
  },
};

export const volumeLsVerb: Verb = {
  usage: "volume ls [-q] [--format table|json|TEMPLATE]",
  options: { quiet: { type: "boolean", short: "q" }, format: { type: "string" } },
  args: [],
  run: (g, v) => {
    const engine = openEngine(g);
    try {
      const vols = engine.db.volumes();
      const format = str(v, "format");
      if (isTemplate(format) && v["quiet"] !== true) {
        const rows = vols.map((x) => ({
          Driver: "local",
          Labels: Object.entries(x.labels)
            .map(([k, l]) => `${k}=${l}`)
            .join(","),
          Links: "N/A",
          Mountpoint: volumePath(engine.dirs, x.name),
          Name: x.name,
          Scope: "local",
          Size: "N/A",
        }));
        process.stdout.write(formatRows(format, rows, { Name: "VOLUME NAME" }, ""));
      } else if (v["quiet"] === true) process.stdout.write(vols.map((x) => `${x.name}\n`).join(""));
      else
        process.stdout.write(
          table(
            ["DRIVER", "VOLUME NAME"],
            vols.map((x) => ["local", x.name]),
          ),
        );
      return 0;
    } finally {
      engine.close();
    }
  },
};

export const volumeInspectVerb: Verb = {
  usage: "volume inspect [-f TEMPLATE] NAME...",
  options: { format: { type: "string", short: "f" } },
  args: ["NAME..."],
  run: (g, v, a) => {
    const engine = openEngine(g);
    try {
      const out = a.map((n) => {
        const r = engine.db.volume(n);
        if (!r) throw new LeopardError("not-found", `no such volume: ${n}`);
        return {
          Name: r.name,
          Driver: "local",
          Mountpoint: volumePath(engine.dirs, r.name),
          CreatedAt: r.created,
          Labels: r.labels,
          Scope: "local",
        };
      });
      process.stdout.write(renderEach(str(v, "format"), out));
      return 0;
    } finally {
      engine.close();
    }
  },
};

export const volumeRmVerb: Verb = {
  usage: "volume rm [-f] NAME...",
  options: { force: { type: "boolean", short: "f" } },
  args: ["NAME..."],
  run: (g, _v, a) => {
    const engine = openEngine(g);
    try {
      for (const n of a) {
        removeVolume(engine.db, engine.dirs, n, engine.volumeUsers(n)[0]?.id);
        process.stdout.write(`${n}\n`);
      }
      return 0;
    } finally {
      engine.close();
    }
  },
};

export const volumePruneVerb: Verb = {
  usage: "volume prune [-f] [-a]",
  options: { force: { type: "boolean", short: "f" }, all: { type: "boolean", short: "a" } },
  args: [],
  run: (g, v) => {
    const engine = openEngine(g);
    try {
      for (const r of engine.db.volumes()) {
        if (v["all"] !== true && r.labels[ANONYMOUS] !== "true") continue;
        if (engine.volumeUsers(r.name).length > 0) continue;
        removeVolume(engine.db, engine.dirs, r.name, undefined);
        process.stdout.write(`${r.name}\n`);
      }
      return 0;
    } finally {
      engine.close();
    }
  },
};
