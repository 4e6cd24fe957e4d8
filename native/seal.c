/* Run from a sealed in-memory copy of ourselves, so that a process in the container can never
 * write the host's helper binary through /proc/<pid>/exe (CVE-2019-5736). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "helper.h"

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif

#define LP_SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

static int copy_all(int from, int to) {
  char buf[65536];
  for (;;) {
    ssize_t n = read(from, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return lp_fail("read", "/proc/self/exe");
    if (n == 0) return 0;
    for (ssize_t off = 0; off < n;) {
      ssize_t w = write(to, buf + off, (size_t)(n - off));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) return lp_fail("write", "memfd:leopard-helper");
      off += w;
    }
  }
}

int lp_ensure_sealed(char **argv, char **envp) {
  autoclose int exe = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  if (exe < 0) return lp_fail("open", "/proc/self/exe");
  int seals = fcntl(exe, F_GET_SEALS);
  if (seals >= 0 && (seals & LP_SEALS) == LP_SEALS) return 0; /* already the sealed copy */
  /* MFD_EXEC: stay executable when vm.memfd_noexec=1; kernels before 6.3 do not know the flag. */
  autoclose int mfd = memfd_create("leopard-helper", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
  if (mfd < 0 && errno == EINVAL) mfd = memfd_create("leopard-helper", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (mfd < 0) return lp_fail("memfd_create", NULL);
  if (copy_all(exe, mfd) < 0) return -1;
  lp_closep(&exe);
  if (fcntl(mfd, F_ADD_SEALS, LP_SEALS) < 0) return lp_fail("fcntl F_ADD_SEALS", NULL);
  fexecve(mfd, argv, envp);
  return lp_fail("fexecve", "memfd:leopard-helper");
}
