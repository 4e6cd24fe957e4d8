// The standard PATH of system directories: the default PATH of a container's process (spec,
// plan) and the only PATH a host tool is looked up on (src/sys/host-tool.ts). A leaf, so the
// pure layers can name it without importing the OS boundary.

export const SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
