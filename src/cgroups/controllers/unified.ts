// linux.resources.unified: cgroup v2 files written as given ("memory.high": "1G"). The keys
// were checked to be plain file names (./resources.ts); a key whose controller is not enabled
// for the cgroup is an error naming it.
import { hasFile, unsupported, writeCg } from "../files.ts";

export function setUnified(dir: string, values: Readonly<Record<string, string>>): void {
  for (const [file, value] of Object.entries(values)) {
    if (!hasFile(dir, file)) {
      const ctl = file.slice(0, file.indexOf("."));
      throw unsupported(
        `linux.resources.unified[${JSON.stringify(file)}] is not a file of this host's cgroup v2 (is the ${JSON.stringify(ctl)} controller available?)`,
      );
    }
    writeCg(dir, file, value);
  }
}

/** On a host without cgroup v2, unified values cannot go anywhere. */
export function rejectUnified(values: Readonly<Record<string, string>>): void {
  const keys = Object.keys(values);
  if (keys.length > 0) {
    throw unsupported(
      `linux.resources.unified[${JSON.stringify(keys[0])}] needs cgroup v2, which this host does not mount`,
    );
  }
}
