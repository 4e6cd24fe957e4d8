// The verbs of the lifecycle bundle (leopard-oci-life.ts): start and delete, which need more
// than the light bundle carries (hooks, sd_notify; delete the cgroup manager). See oci-light.ts.
import { deleteVerb } from "./oci-delete.ts";
import type { Verbs } from "./oci-main.ts";
import { startVerb } from "./oci-start.ts";

export const LIFE_VERBS: Verbs = {
  start: startVerb,
  delete: deleteVerb,
};
