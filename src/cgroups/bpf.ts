// bpf(2) for the cgroup v2 device filter: load a BPF_PROG_TYPE_CGROUP_DEVICE program, attach
// it to a cgroup directory, and replace whatever device programs leopard attached before.
// Through bun:ffi's syscall(2); union bpf_attr is built by hand (offsets from linux/bpf.h).

import { closeSync, constants, openSync } from "../sys/fs-sync.ts";
import { addressOf, errno, keepAlive, sys } from "../sys/libc.ts";
import { strerror } from "../util/errno.ts";
import { LeopardError } from "../util/errors.ts";

const SYS_BPF = process.arch === "arm64" ? 280 : 321;

const BPF_PROG_LOAD = 5;
const BPF_PROG_ATTACH = 8;
const BPF_PROG_DETACH = 9;
const BPF_PROG_GET_FD_BY_ID = 13;
const BPF_PROG_QUERY = 16;
const BPF_PROG_TYPE_CGROUP_DEVICE = 15;
const BPF_CGROUP_DEVICE = 6;
const BPF_F_ALLOW_MULTI = 2;
const ATTR_SIZE = 128;

function bpf(cmd: number, attr: Uint8Array, what: string, path?: string): number {
  const ret = Number(sys(SYS_BPF, cmd, attr, ATTR_SIZE));
  if (ret < 0) {
    const e = errno();
    throw new LeopardError(
      "system",
      `bpf ${what}${path === undefined ? "" : ` on ${JSON.stringify(path)}`}: ${strerror(e)}`,
      {
        errno: e,
        syscall: "bpf",
        ...(path === undefined ? {} : { path }),
      },
    );
  }
  return ret;
}

/** Loads the program; the verifier's log is in the error when the kernel refuses it. */
export function loadDeviceProgram(insns: Uint8Array): number {
  const license = new TextEncoder().encode("Apache-2.0\0");
  const log = new Uint8Array(64 * 1024);
  const attr = new Uint8Array(ATTR_SIZE);
  const v = new DataView(attr.buffer);
  v.setUint32(0, BPF_PROG_TYPE_CGROUP_DEVICE, true);
  v.setUint32(4, insns.length / 8, true);
  v.setBigUint64(8, BigInt(addressOf(insns)), true);
  v.setBigUint64(16, BigInt(addressOf(license)), true);
  v.setUint32(24, 1, true); // log_level
  v.setUint32(28, log.length, true);
  v.setBigUint64(32, BigInt(addressOf(log)), true);
  attr.set(new TextEncoder().encode("leopard_dev"), 48); // prog_name
  try {
    const fd = bpf(BPF_PROG_LOAD, attr, "loading the device program");
    keepAlive(insns, license, log);
    return fd;
  } catch (e) {
    const text = new TextDecoder()
      .decode(log.subarray(0, log.indexOf(0) < 0 ? log.length : log.indexOf(0)))
      .trim();
    if (e instanceof LeopardError && text !== "") {
      throw new LeopardError("system", `${e.message} (verifier: ${text.split("\n").slice(-3).join("; ")})`, {
        cause: e,
      });
    }
    throw e;
  }
}

/** The ids of the device programs attached to the cgroup. */
function queryDevicePrograms(cgroupFd: number, path: string): number[] {
  const ids = new Uint32Array(64);
  const attr = new Uint8Array(ATTR_SIZE);
  const v = new DataView(attr.buffer);
  v.setUint32(0, cgroupFd, true);
  v.setUint32(4, BPF_CGROUP_DEVICE, true);
  v.setBigUint64(16, BigInt(addressOf(ids)), true);
  v.setUint32(24, ids.length, true);
  bpf(BPF_PROG_QUERY, attr, "querying device programs", path);
  keepAlive(ids);
  return [...ids.subarray(0, v.getUint32(24, true))];
}

function progFdById(id: number): number {
  const attr = new Uint8Array(ATTR_SIZE);
  new DataView(attr.buffer).setUint32(0, id, true);
  return bpf(BPF_PROG_GET_FD_BY_ID, attr, `opening program ${id}`);
}

function attachAttr(cgroupFd: number, progFd: number, flags: number): Uint8Array {
  const attr = new Uint8Array(ATTR_SIZE);
  const v = new DataView(attr.buffer);
  v.setUint32(0, cgroupFd, true);
  v.setUint32(4, progFd, true);
  v.setUint32(8, BPF_CGROUP_DEVICE, true);
  v.setUint32(12, flags, true);
  return attr;
}

/**
 * Attaches the program to the cgroup directory and detaches the device programs that were
 * there before, so an update replaces the filter (the new one is in place before the old goes).
 */
export function attachDeviceProgram(dir: string, insns: Uint8Array): void {
  const cg = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  let prog = -1;
  try {
    const old = queryDevicePrograms(cg, dir);
    prog = loadDeviceProgram(insns);
    bpf(BPF_PROG_ATTACH, attachAttr(cg, prog, BPF_F_ALLOW_MULTI), "attaching the device program", dir);
    for (const id of old) {
      const fd = progFdById(id);
      try {
        bpf(BPF_PROG_DETACH, attachAttr(cg, fd, 0), `detaching device program ${id}`, dir);
      } finally {
        closeSync(fd);
      }
    }
  } finally {
    if (prog >= 0) closeSync(prog);
    closeSync(cg);
  }
}

/** How many device programs are attached to the cgroup directory. */
export function devicePrograms(dir: string): number {
  const cg = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    return queryDevicePrograms(cg, dir).length;
  } finally {
    closeSync(cg);
  }
}
