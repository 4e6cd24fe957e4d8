// `leopard-oci features`: what this runtime supports, as runtime-spec's features.json.
import { out, type Verb } from "./oci-main.ts";

export const featuresVerb: Verb = {
  usage: "features",
  options: {},
  args: [],
  async run() {
    const { features, hostSeccompSupport } = await import("../runtime/features.ts");
    await out(`${JSON.stringify(features(await hostSeccompSupport()), null, 4)}\n`);
    return 0;
  },
};
