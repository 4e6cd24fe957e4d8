// Test helpers: a directory tree described entry by entry (type, mode, owner, content hash,
// link target, device, hardlink group) so two unpackings can be compared file by file.
import { lstatSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { sha256 } from "./digest.ts";

export function describeTree(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const inodes = new Map<string, string>();
  const walk = (rel: string): void => {
    const p = rel === "" ? root : `${root}/${rel}`;
    for (const name of readdirSync(p).sort()) {
      const r = rel === "" ? name : `${rel}/${name}`;
      const full = `${root}/${r}`;
      const st = lstatSync(full);
      const own = `${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid}`;
      if (st.isDirectory()) {
        out[r] = `dir ${own}`;
        walk(r);
      } else if (st.isSymbolicLink()) {
        out[r] = `symlink -> ${readlinkSync(full)} ${st.uid}:${st.gid}`;
      } else if (st.isFile()) {
        let link = "";
        if (st.nlink > 1) {
          const key = `${st.dev}:${st.ino}`;
          const first = inodes.get(key);
          if (first === undefined) inodes.set(key, r);
          else link = ` hardlink-of ${first}`;
        }
        out[r] = `file ${own} ${sha256(readFileSync(full))}${link}`;
      } else if (st.isCharacterDevice() || st.isBlockDevice()) {
        out[r] = `${st.isCharacterDevice() ? "char" : "block"} ${own} ${st.rdev}`;
      } else if (st.isFIFO()) {
        out[r] = `fifo ${own}`;
      } else {
        out[r] = `other ${own}`;
      }
    }
  };
  walk("");
  return out;
}
