// errno numbers (x86-64 / generic Linux) → names and strerror-style text for error messages.
const TABLE: Record<number, [string, string]> = {
  1: ["EPERM", "operation not permitted"],
  2: ["ENOENT", "no such file or directory"],
  3: ["ESRCH", "no such process"],
  4: ["EINTR", "interrupted system call"],
  5: ["EIO", "input/output error"],
  7: ["E2BIG", "argument list too long"],
  8: ["ENOEXEC", "exec format error"],
  9: ["EBADF", "bad file descriptor"],
  11: ["EAGAIN", "resource temporarily unavailable"],
  12: ["ENOMEM", "cannot allocate memory"],
  13: ["EACCES", "permission denied"],
  16: ["EBUSY", "device or resource busy"],
  17: ["EEXIST", "file exists"],
  18: ["EXDEV", "invalid cross-device link"],
  19: ["ENODEV", "no such device"],
  20: ["ENOTDIR", "not a directory"],
  21: ["EISDIR", "is a directory"],
  22: ["EINVAL", "invalid argument"],
  24: ["EMFILE", "too many open files"],
  25: ["ENOTTY", "inappropriate ioctl for device"],
  26: ["ETXTBSY", "text file busy"],
  28: ["ENOSPC", "no space left on device"],
  30: ["EROFS", "read-only file system"],
  32: ["EPIPE", "broken pipe"],
  36: ["ENAMETOOLONG", "file name too long"],
  38: ["ENOSYS", "function not implemented"],
  39: ["ENOTEMPTY", "directory not empty"],
  40: ["ELOOP", "too many levels of symbolic links"],
  71: ["EPROTO", "protocol error"],
  95: ["EOPNOTSUPP", "operation not supported"],
  111: ["ECONNREFUSED", "connection refused"],
};

export function errnoName(errno: number): string {
  return TABLE[errno]?.[0] ?? `errno ${errno}`;
}

export function strerror(errno: number): string {
  return TABLE[errno]?.[1] ?? `errno ${errno}`;
}

export function errnoNumber(name: string): number | undefined {
  for (const [n, [k]] of Object.entries(TABLE)) if (k === name) return Number(n);
  return undefined;
}
