// The cgroups module's public API (see manager.ts for how the runtime uses it).
export { containerDeviceRules, DEFAULT_ALLOWED_DEVICES } from "./controllers/devices.ts";
export { deviceFilterInsns, runDeviceFilter } from "./controllers/devices-bpf.ts";
export { type CgroupLayout, type CgroupMode, hostLayout, layoutFromMounts, procCgroup } from "./layout.ts";
export { type CgroupManager, type FreezerState, type OpenOptions, openCgroup } from "./manager.ts";
export { type OomWatch, watchOom } from "./oom.ts";
export { type CgroupPaths, DEFAULT_PARENT, type ResolveOptions, resolveCgroupsPath } from "./path.ts";
export { NO_RESOURCES, type Resources, readResources, readResourcesJson } from "./resources.ts";
export { signalAll } from "./signal.ts";
export { eventLine, type Stats, statsJson } from "./stats.ts";
export { resourcesFromFlags, UPDATE_FLAGS, type UpdateFlags } from "./update.ts";
