// state and list: what a container is now, read from its state directory (and, for "paused", its
// freezer file). Apart from lifecycle.ts so that these two, the calls engines make most, load
// neither the cgroup manager, hooks nor pidfds: the light bundle (leopard-oci-light.ts) holds
// just what they and kill need.
import type { PublicState, StateDir, StoredState } from "../state/state.ts";
import { isFrozen } from "./paused.ts";

const frozen = (s: StoredState): boolean => isFrozen(s.cgroupPaths);

export function stateOf(state: StateDir, id: string): PublicState {
  return state.public(state.read(id), frozen);
}

export function list(state: StateDir): PublicState[] {
  const out: PublicState[] = [];
  for (const id of state.ids()) {
    try {
      out.push(state.public(state.read(id), frozen));
    } catch {
      // removed while listing: left out, as runc's list does
    }
  }
  return out;
}
