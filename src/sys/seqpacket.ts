// AF_UNIX SOCK_SEQPACKET socket pairs with fd passing (SCM_RIGHTS): the sync channel to the
// helper. Node and Bun have no API to receive file descriptors, hence our own sendmsg/recvmsg.
import { addressOf, check, errno, keepAlive, libc, SysError } from "./libc.ts";

const AF_UNIX = 1;
const SOCK_SEQPACKET = 5;
const SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const SCM_RIGHTS = 1;
const SO_SNDBUFFORCE = 32;
const SO_RCVBUFFORCE = 33;
const MSG_PEEK = 2;
const MSG_TRUNC = 0x20;
const MSG_NOSIGNAL = 0x4000;
const MSG_CMSG_CLOEXEC = 0x40000000;
const POLLIN = 1;
const EINTR = 4;
const MAX_FDS = 8;

/** A connected pair; both ends close-on-exec. Buffers are raised so a large plan fits one datagram. */
export function socketPair(): [number, number] {
  const fds = new Int32Array(2);
  check(libc().socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds), "socketpair");
  const size = new Int32Array([8 * 1024 * 1024]);
  for (const fd of fds) {
    // Best effort: FORCE needs CAP_NET_ADMIN; the default (~200 KiB) suffices for most plans.
    libc().setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, size, 4);
    libc().setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, size, 4);
  }
  return [fds[0]!, fds[1]!];
}

function msghdr(iov: BigUint64Array, control: Uint8Array | null): BigUint64Array {
  // struct msghdr (x86-64): name, namelen, iov, iovlen, control, controllen, flags.
  const h = new BigUint64Array(7);
  h[2] = BigInt(addressOf(iov));
  h[3] = 1n;
  if (control !== null && control.length > 0) {
    h[4] = BigInt(addressOf(control));
    h[5] = BigInt(control.length);
  }
  return h;
}

/** One sendmsg (fds by SCM_RIGHTS); the bytes sent, which a stream socket may make fewer than data. */
export function sendMsg(fd: number, data: Uint8Array, fds: readonly number[] = []): number {
  const body = data.length > 0 ? data : new Uint8Array(1);
  const iov = new BigUint64Array([BigInt(addressOf(body)), BigInt(data.length)]);
  let control: Uint8Array | null = null;
  if (fds.length > 0) {
    const len = 16 + 4 * fds.length;
    control = new Uint8Array((len + 7) & ~7);
    const v = new DataView(control.buffer);
    v.setBigUint64(0, BigInt(len), true);
    v.setInt32(8, SOL_SOCKET, true);
    v.setInt32(12, SCM_RIGHTS, true);
    fds.forEach((f, i) => {
      v.setInt32(16 + 4 * i, f, true);
    });
  }
  const h = msghdr(iov, control);
  for (;;) {
    const n = Number(libc().sendmsg(fd, h, MSG_NOSIGNAL));
    keepAlive(body, iov, control);
    if (n >= 0) return n;
    const e = errno();
    if (e !== EINTR) throw new SysError("sendmsg", e);
  }
}

/** Waits until fd is readable; false on timeout. timeoutMs < 0 waits forever. */
export function waitReadable(fd: number, timeoutMs: number): boolean {
  const pfd = new Int32Array([fd, POLLIN]);
  for (;;) {
    const n = libc().poll(pfd, 1, timeoutMs);
    if (n > 0) return true;
    if (n === 0) return false;
    const e = errno();
    if (e !== EINTR) throw new SysError("poll", e);
  }
}

export class TimeoutError extends Error {
  override name = "TimeoutError";
}

/** One datagram and any fds passed with it (close-on-exec); null at EOF. */
export function recvMsg(fd: number, timeoutMs: number): { data: Uint8Array; fds: number[] } | null {
  if (!waitReadable(fd, timeoutMs)) throw new TimeoutError(`no message within ${timeoutMs} ms`);
  const probe = new Uint8Array(1);
  const piov = new BigUint64Array([BigInt(addressOf(probe)), 1n]);
  const ph = msghdr(piov, null);
  const size = check(libc().recvmsg(fd, ph, MSG_PEEK | MSG_TRUNC), "recvmsg");
  keepAlive(probe, piov);
  const data = new Uint8Array(Math.max(size, 1));
  const iov = new BigUint64Array([BigInt(addressOf(data)), BigInt(data.length)]);
  const control = new Uint8Array(16 + 4 * MAX_FDS);
  const h = msghdr(iov, control);
  const n = check(libc().recvmsg(fd, h, MSG_CMSG_CLOEXEC), "recvmsg");
  keepAlive(data, iov, control);
  const fds: number[] = [];
  const clen = Number(h[5]);
  const v = new DataView(control.buffer);
  let off = 0;
  while (off + 16 <= clen) {
    const len = Number(v.getBigUint64(off, true));
    if (len < 16) break;
    if (v.getInt32(off + 8, true) === SOL_SOCKET && v.getInt32(off + 12, true) === SCM_RIGHTS) {
      for (let i = 16; i + 4 <= len; i += 4) fds.push(v.getInt32(off + i, true));
    }
    off += (len + 7) & ~7;
  }
  if (n === 0 && size === 0 && fds.length === 0) return null;
  return { data: data.subarray(0, n), fds };
}

export function closeFd(fd: number): void {
  libc().close(fd);
}

/**
 * A connection to the unix socket at path (close-on-exec): SOCK_STREAM (a --console-socket) or
 * SOCK_SEQPACKET (conmon's attach socket).
 */
export function connectUnix(path: string, type: "stream" | "seqpacket" = "stream"): number {
  const bytes = new TextEncoder().encode(path);
  if (bytes.length >= 108) throw new SysError("connect", 36 /* ENAMETOOLONG */, path);
  const kind = type === "stream" ? 1 /* SOCK_STREAM */ : 5; /* SOCK_SEQPACKET */
  const fd = check(libc().socket(AF_UNIX, kind | SOCK_CLOEXEC, 0), "socket");
  const addr = new Uint8Array(110);
  new DataView(addr.buffer).setUint16(0, AF_UNIX, true);
  addr.set(bytes, 2);
  if (libc().connect(fd, addr, 110) === -1) {
    const e = errno();
    libc().close(fd);
    throw new SysError("connect", e, path);
  }
  return fd;
}
