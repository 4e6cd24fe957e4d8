// `-u user[:group]` and the image's User resolved as docker resolves them: names looked up in
// the container's own /etc/passwd and /etc/group, numbers taken as they are, the user's
// supplementary groups added. The lookup is pure over the files' text; reading them is the
// caller's (see readUserFiles, which opens them inside the root without following links out).
import { LeopardError } from "../util/errors.ts";

export interface ResolvedUser {
  uid: number;
  gid: number;
  additionalGids: number[];
  home: string;
}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const line of text.split("\n")) {
    const f = line.split(":");
    if (f.length < 7 || line.startsWith("#")) continue;
    const uid = Number(f[2]);
    const gid = Number(f[3]);
    if (!Number.isInteger(uid) || !Number.isInteger(gid)) continue;
    out.push({ name: f[0] ?? "", uid, gid, home: f[5] ?? "/" });
  }
  return out;
}

function parseGroup(text: string): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const line of text.split("\n")) {
    const f = line.split(":");
    if (f.length < 4 || line.startsWith("#")) continue;
    const gid = Number(f[2]);
    if (!Number.isInteger(gid)) continue;
    out.push({ name: f[0] ?? "", gid, members: (f[3] ?? "").split(",").filter((m) => m !== "") });
  }
  return out;
}

const isId = (s: string): boolean => /^\d+$/.test(s);

/** `user` is "", "name", "uid", "name:group", "uid:gid" …; "" means root. */
export function resolveUser(user: string, passwdText: string, groupText: string): ResolvedUser {
  const [u = "", g] = user === "" ? ["0"] : user.split(":");
  const passwd = parsePasswd(passwdText);
  const groups = parseGroup(groupText);
  const entry = isId(u) ? passwd.find((p) => p.uid === Number(u)) : passwd.find((p) => p.name === u);
  if (!entry && !isId(u))
    throw new LeopardError(
      "invalid-argument",
      `unable to find user ${u}: no matching entries in passwd file`,
    );
  const uid = entry?.uid ?? Number(u);
  let gid = entry?.gid ?? 0;
  if (g !== undefined && g !== "") {
    if (isId(g)) gid = Number(g);
    else {
      const ge = groups.find((x) => x.name === g);
      if (!ge)
        throw new LeopardError(
          "invalid-argument",
          `unable to find group ${g}: no matching entries in group file`,
        );
      gid = ge.gid;
    }
  }
  // docker lists the primary group among the supplementary ones (its getUser starts the list
  // with it), then, when no group was given explicitly, the groups naming the user as a member.
  const member =
    entry && (g === undefined || g === "")
      ? groups.filter((x) => x.members.includes(entry.name) && x.gid !== gid).map((x) => x.gid)
      : [];
  const additionalGids = [gid, ...new Set(member)];
  return { uid, gid, additionalGids, home: entry?.home ?? "/" };
}
