// The verbs that act on an existing container (start, state, kill, delete, list): what engines
// call most. leopard-oci-light.ts runs just these, in a bundle of their own (the launcher picks
// it for them); leopard-oci.ts has them among the rest. Each verb is a file of its own (oci-*.ts).
import { deleteVerb } from "./oci-delete.ts";
import { killVerb } from "./oci-kill.ts";
import { listVerb } from "./oci-list.ts";
import type { Verbs } from "./oci-main.ts";
import { startVerb } from "./oci-start.ts";
import { stateVerb } from "./oci-state.ts";

export const LIGHT_VERBS: Verbs = {
  start: startVerb,
  state: stateVerb,
  kill: killVerb,
  delete: deleteVerb,
  list: listVerb,
  ls: listVerb,
};
