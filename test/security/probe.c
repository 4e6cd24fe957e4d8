/* probe: tries one escape step from inside a container and prints what the kernel answered,
 * one "step: RESULT" line each (RESULT is "ok" or the errno name). Built statically by
 * test/security/harness.ts and bind-mounted read-only into the container under test. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <linux/reboot.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

static int report(const char *step, long rc) {
  if (rc < 0) printf("%s: %s\n", step, strerrorname_np(errno));
  else printf("%s: ok\n", step);
  fflush(stdout);
  return rc < 0 ? -1 : 0;
}

static int write_file(const char *path, const char *data) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (report("open", fd) < 0) return 0;
  report("write", write(fd, data, strlen(data)));
  close(fd);
  return 0;
}

/* Every fd above 2 that is not the directory being read, with what it points at. */
static int list_fds(void) {
  DIR *d = opendir("/proc/self/fd");
  if (d == NULL) return report("opendir", -1), 1;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    int fd = atoi(e->d_name);
    if (e->d_name[0] == '.' || fd <= 2 || fd == dirfd(d)) continue;
    char link[4096], path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    ssize_t n = readlink(path, link, sizeof(link) - 1);
    link[n < 0 ? 0 : n] = '\0';
    printf("fd %d: %s\n", fd, link);
  }
  closedir(d);
  printf("fds: done\n");
  return 0;
}

/* chdir into each /proc/self/fd/N (CVE-2024-21626's trick) and say where that lands. */
static int cwd_fds(void) {
  for (int fd = 3; fd < 64; fd++) {
    char path[64], cwd[4096];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    if (chdir(path) < 0) continue;
    printf("cwd %d: %s\n", fd, getcwd(cwd, sizeof(cwd)) ? cwd : "(unreachable)");
    if (chdir("/") < 0) return 1;
  }
  printf("cwd: done\n");
  return 0;
}

/* Classic chroot escapes, plain and with a held directory fd; then look for the host marker. */
static int chroot_escape(const char *marker) {
  mkdir("/tmp/jail", 0700);
  int held = open("/", O_DIRECTORY | O_RDONLY);
  report("chroot", chroot("/tmp/jail"));
  report("fchdir", fchdir(held));
  for (int i = 0; i < 64; i++)
    if (chdir("..") < 0) break;
  report("chroot-dot", chroot("."));
  printf("marker: %s\n", access(marker, F_OK) == 0 ? "reachable" : "absent");
  return 0;
}

static int shocker(void) {
  struct {
    struct file_handle fh;
    unsigned char bytes[8];
  } h;
  memset(&h, 0, sizeof(h));
  h.fh.handle_bytes = 8;
  h.fh.handle_type = 1; /* FILEID_INO32_GEN: inode 2, the root of an ext4 file system */
  unsigned int ino = 2;
  memcpy(h.fh.f_handle, &ino, sizeof(ino));
  int mnt = open("/", O_RDONLY | O_DIRECTORY);
  return report("open_by_handle_at", syscall(SYS_open_by_handle_at, mnt, &h.fh, O_RDONLY)), 0;
}

static int bpf_map(void) {
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.map_type = BPF_MAP_TYPE_ARRAY;
  a.key_size = 4;
  a.value_size = 4;
  a.max_entries = 1;
  return report("bpf", syscall(SYS_bpf, BPF_MAP_CREATE, &a, sizeof(a))), 0;
}

static int perf(void) {
  struct perf_event_attr a;
  memset(&a, 0, sizeof(a));
  a.size = sizeof(a);
  a.type = PERF_TYPE_SOFTWARE;
  a.config = PERF_COUNT_SW_CPU_CLOCK;
  return report("perf_event_open", syscall(SYS_perf_event_open, &a, -1, 0, -1, 0)), 0;
}

static int mknod_blk(unsigned maj, unsigned min) {
  unlink("/dev/leopard-blk");
  if (report("mknod", mknod("/dev/leopard-blk", S_IFBLK | 0600, makedev(maj, min))) < 0) return 0;
  int fd = open("/dev/leopard-blk", O_RDONLY);
  if (report("open", fd) < 0) return 0;
  char buf[512];
  report("read", read(fd, buf, sizeof(buf)));
  return 0;
}

/* Scan /proc for a process named leopard:* (a helper inside our PID namespace) for up to secs
 * seconds, then attack its exe: open it for writing, directly and through an O_PATH reopen. */
static int hunt(int secs) {
  time_t end = time(NULL) + secs;
  while (time(NULL) < end) {
    DIR *d = opendir("/proc");
    if (d == NULL) return report("opendir", -1), 1;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
      if (e->d_name[0] < '1' || e->d_name[0] > '9' || atoi(e->d_name) == getpid()) continue;
      char path[300], comm[64] = "";
      snprintf(path, sizeof(path), "/proc/%s/comm", e->d_name);
      int fd = open(path, O_RDONLY | O_CLOEXEC);
      if (fd < 0) continue;
      ssize_t n = read(fd, comm, sizeof(comm) - 1);
      close(fd);
      if (n <= 0 || strncmp(comm, "leopard", 7) != 0) continue;
      comm[strcspn(comm, "\n")] = '\0';
      printf("found: %s\n", comm);
      snprintf(path, sizeof(path), "/proc/%s/exe", e->d_name);
      report("open-write", open(path, O_WRONLY | O_CLOEXEC));
      int p = open(path, O_PATH | O_CLOEXEC);
      if (report("open-path", p) == 0) {
        char via[64];
        snprintf(via, sizeof(via), "/proc/self/fd/%d", p);
        report("reopen-write", open(via, O_WRONLY | O_CLOEXEC));
      }
      closedir(d);
      return 0;
    }
    closedir(d);
  }
  printf("found: nothing\n");
  return 0;
}

/* Exchanges a and b (renameat2 RENAME_EXCHANGE) n times, as fast as it can: a directory and a
 * symlink trade names, so a path walk through a/ meets either (CVE-2018-15664's racer). */
static int swap(const char *a, const char *b, long n) {
  for (long i = 0; i < n; i++)
    if (syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, 2 /* RENAME_EXCHANGE */) < 0)
      return report("renameat2", -1), 1;
  printf("swap: done\n");
  return 0;
}

int main(int argc, char **argv) {
  const char *cmd = argc > 1 ? argv[1] : "";
  const char *a2 = argc > 2 ? argv[2] : "";
  const char *a3 = argc > 3 ? argv[3] : "";
  if (!strcmp(cmd, "mount")) return report("mount", mount("tmpfs", "/tmp", "tmpfs", 0, NULL)), 0;
  if (!strcmp(cmd, "umount")) return report("umount", umount2(a2, MNT_DETACH)), 0;
  if (!strcmp(cmd, "reboot"))
    return report("reboot", syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2, LINUX_REBOOT_CMD_CAD_OFF, NULL)), 0;
  if (!strcmp(cmd, "modules")) {
    static char image[64];
    report("init_module", syscall(SYS_init_module, image, sizeof(image), ""));
    int fd = open("/bin/busybox", O_RDONLY | O_CLOEXEC);
    return report("finit_module", syscall(SYS_finit_module, fd, "", 0)), 0;
  }
  if (!strcmp(cmd, "mknod-blk")) return mknod_blk((unsigned)atoi(a2), (unsigned)atoi(a3));
  if (!strcmp(cmd, "ptrace")) return report("ptrace", ptrace(PTRACE_ATTACH, atoi(a2), 0, 0)), 0;
  if (!strcmp(cmd, "write")) return write_file(a2, a3);
  if (!strcmp(cmd, "keyctl")) {
    report("add_key", syscall(SYS_add_key, "user", "leopard", "x", 1, -3 /* KEY_SPEC_SESSION_KEYRING */));
    return report("keyctl", syscall(SYS_keyctl, 1 /* KEYCTL_JOIN_SESSION_KEYRING */, "leopard")), 0;
  }
  if (!strcmp(cmd, "unshare-user")) return report("unshare", unshare(CLONE_NEWUSER)), 0;
  if (!strcmp(cmd, "bpf")) return bpf_map();
  if (!strcmp(cmd, "perf")) return perf();
  if (!strcmp(cmd, "shocker")) return shocker();
  if (!strcmp(cmd, "chroot")) return chroot_escape(a2);
  if (!strcmp(cmd, "raw")) {
    report("raw-inet", socket(AF_INET, SOCK_RAW, 1 /* ICMP */));
    return report("packet", socket(AF_PACKET, SOCK_RAW, 0)), 0;
  }
  if (!strcmp(cmd, "fds")) return list_fds();
  if (!strcmp(cmd, "hunt")) return hunt(atoi(a2));
  if (!strcmp(cmd, "cwd-fds")) return cwd_fds();
  if (!strcmp(cmd, "swap")) return swap(a2, a3, argc > 4 ? atol(argv[4]) : 1);
  if (!strcmp(cmd, "open-write")) {
    int fd = open(a2, O_WRONLY | O_CLOEXEC);
    report("open-write", fd);
    int p = open(a2, O_PATH | O_CLOEXEC);
    if (report("open-path", p) == 0) {
      char via[64];
      snprintf(via, sizeof(via), "/proc/self/fd/%d", p);
      report("reopen-write", open(via, O_WRONLY | O_CLOEXEC));
    }
    return 0;
  }
  fprintf(stderr, "probe: unknown step \"%s\"\n", cmd);
  return 2;
}
