// AF_UNIX datagram sockets, for sd_notify (NOTIFY_SOCKET): Bun's dgram has only UDP.
import { chmodSync, rmSync } from "./fs-sync.ts";
import { check, errno, libc, SysError } from "./libc.ts";
import { waitReadable } from "./seqpacket.ts";

const AF_UNIX = 1;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0o2000000;
const MSG_NOSIGNAL = 0x4000;
const EINTR = 4;

/** struct sockaddr_un for path; an abstract address when path starts with "@". */
function address(path: string): { addr: Uint8Array; len: number } {
  const bytes = new TextEncoder().encode(path);
  if (bytes.length >= 108) throw new SysError("bind", 36 /* ENAMETOOLONG */, path);
  const addr = new Uint8Array(110);
  new DataView(addr.buffer).setUint16(0, AF_UNIX, true);
  addr.set(bytes, 2);
  if (path.startsWith("@")) {
    addr[2] = 0; // abstract namespace: the length, not a NUL, ends the name
    return { addr, len: 2 + bytes.length };
  }
  return { addr, len: 110 };
}

function dgramSocket(): number {
  return check(libc().socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0), "socket");
}

/** A datagram socket bound at path (an old socket file there is replaced), mode 0777 so any user may send. */
export function bindDgram(path: string): number {
  rmSync(path, { force: true });
  const fd = dgramSocket();
  const { addr, len } = address(path);
  if (libc().bind(fd, addr, len) === -1) {
    const e = errno();
    libc().close(fd);
    throw new SysError("bind", e, path);
  }
  chmodSync(path, 0o777);
  return fd;
}

/** One datagram, or null when none arrived within timeoutMs. */
export function recvDgram(fd: number, timeoutMs: number): Uint8Array | null {
  if (!waitReadable(fd, timeoutMs)) return null;
  const buf = new Uint8Array(4096);
  for (;;) {
    const n = Number(libc().recv(fd, buf, buf.length, 0));
    if (n >= 0) return buf.subarray(0, n);
    const e = errno();
    if (e !== EINTR) throw new SysError("recv", e);
  }
}

/** Sends one datagram to the socket at path (systemd's NOTIFY_SOCKET, for one). */
export function sendDgram(path: string, data: Uint8Array): void {
  const fd = dgramSocket();
  try {
    const { addr, len } = address(path);
    const body = data.length > 0 ? data : new Uint8Array(1);
    if (Number(libc().sendto(fd, body, data.length, MSG_NOSIGNAL, addr, len)) === -1)
      throw new SysError("sendto", errno(), path);
  } finally {
    libc().close(fd);
  }
}
