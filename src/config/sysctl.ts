// A sysctl key as the components of its /proc/sys path. Pure; shared by validation (the
// namespace rules run on these components) and the planner (the path is built from them alone).

/**
 * Splits a key the way sysctl(8) and runc read it: "." or "/" separate components, and the first
 * separator decides which. With "." first, a "/" inside a component stands for a literal dot
 * ("net.ipv4.conf.eno2/100.rp_filter"); with "/" first, dots are literal
 * ("net/ipv4/conf/eno2.100/rp_filter"). Returns a sentence saying what is wrong instead when a
 * component is empty, "." or "..", or holds a NUL: any of those would make a path that leaves
 * the sysctl the key names (the CVE-class "net/../kernel/core_pattern").
 */
export function sysctlComponents(key: string): { components: string[] } | { problem: string } {
  const first = key.search(/[./]/);
  const slashed = first >= 0 && key[first] === "/";
  const components = slashed ? key.split("/") : key.split(".").map((c) => c.replaceAll("/", "."));
  for (const c of components) {
    if (c === "") return { problem: "has an empty component" };
    if (c === "." || c === "..") return { problem: `has a ${JSON.stringify(c)} component` };
    if (c.includes("\0")) return { problem: "has a NUL byte" };
  }
  return { components };
}

/** The file of a valid key, relative to /proc: "sys/net/ipv4/ip_forward". */
export function sysctlProcPath(components: readonly string[]): string {
  return `sys/${components.join("/")}`;
}
