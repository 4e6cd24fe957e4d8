// Named networks through src/network (CNI plugins): wired in once that library lands.
import { LeopardError } from "../util/errors.ts";
import type { ContainerRecord } from "./db.ts";
import type { Engine } from "./engine.ts";
import type { AttachedNetwork } from "./network.ts";

export async function attachCni(_engine: Engine, rec: ContainerRecord): Promise<AttachedNetwork> {
  throw new LeopardError(
    "unsupported",
    `network "${rec.config.network}" is not available yet: use --network none or host`,
  );
}

export async function detachCni(_engine: Engine, _rec: ContainerRecord): Promise<void> {}
