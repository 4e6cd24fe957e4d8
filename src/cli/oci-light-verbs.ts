// The verbs of the light bundle (leopard-oci-light.ts): state, kill and list, the calls engines
// make most, which read the state directory or send a signal. See oci-light.ts.
import { killVerb } from "./oci-kill.ts";
import { listVerb } from "./oci-list.ts";
import type { Verbs } from "./oci-main.ts";
import { stateVerb } from "./oci-state.ts";

export const LIGHT_VERBS: Verbs = {
  state: stateVerb,
  kill: killVerb,
  list: listVerb,
  ls: listVerb,
};
