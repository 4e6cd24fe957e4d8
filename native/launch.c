/* launch.c: bin/leopard-oci and bin/leopard (one source, two binaries: LAUNCH_NAME says which).
 *
 * Like the helper, it decides nothing about containers; its one choice is which Bun file to run
 * when it runs Bun itself (see run_direct). It does one of two things:
 *
 *  1. Served: a `leopard-oci serve` (or `leopard serve`) keeps warm Bun workers, each with the CLI
 *     already loaded, waiting on a unix socket. The launcher connects, sends its argv, env, cwd,
 *     open-file limit and stdio fds (SCM_RIGHTS), and then only does what must happen in the
 *     caller's own process: it forks the programs the worker asks for (the C helper, so the
 *     container descends from the caller, as conmon and containerd's shim need: they reap it),
 *     reports their exit statuses, forwards the signals it receives to the worker, and exits with
 *     the status the worker sends. Bun's start-up (~50 ms here, most of it page faults) and the
 *     CLI's module loading are paid once per worker, not per call.
 *  2. Direct, when nothing serves (no socket, LEOPARD_SERVE=0, sources newer than the
 *     bundle, no worker took the call within LEOPARD_SERVE_WAIT_MS (default 500) of the connect,
 *     or the worker declines: another uid, namespace, root or privileges than its own): exec the
 *     pinned Bun with our own credentials on the CLI. LEOPARD_SERVE=1 makes not being served an
 *     error that says why (for tests and for checking a server).
 *     Sockets: <dir>/<name>.sock, dir $LEOPARD_SERVE_DIR, else /run/leopard-serve for the host's
 *     root, $XDG_RUNTIME_DIR/leopard-serve[/userns-<inode>] for anyone else (serve_dir).
 *
 * Where things are (see find_layout): installed, this binary is <prefix>/bin/<name> and
 * <prefix>/lib/leopard holds the pinned Bun ("bun"), the bundles, the helper: nothing else is
 * read, no source is looked at. In the checkout it is <top>/native/build/<name>: the bundles of
 * <top>/build/cli when none of the sources a bundle was built from (its .inputs list, written by
 * make) is newer, else the TypeScript sources.
 * leopard-oci's light verbs load a bundle of just their group (launch-verbs.h names each verb's:
 * leopard-oci-light.js, leopard-oci-life.js, and what to add to Bun's environment for them);
 * the rest (`serve` too: a socket-activated server serves its first call itself) load <name>.js.
 *
 * Wire format (SOCK_SEQPACKET, one message per packet, fields NUL-separated; the TypeScript side
 * is src/serve/wire.ts, and wire.h, generated from it, names the magic, letters and fields):
 *   launcher → worker  "LSRV3" name stamp cwd nofile-cur nofile-max securebits argc argv...
 *                      envc env... (the kernel tells the worker our
 *                      capabilities, no_new_privs, seccomp mode and LSM label; securebits it
 *                      cannot, so we send ours: they survive the exec that started us)
 *                      "G"                go ahead: the answer to "A" (we are still here),
 *                                         with our fds 0, 1, 2 attached
 *                      "S" pid            the requested program was started
 *                      "E" errno          it could not be (fork, or execve in the child)
 *                      "C" pid status     a started program ended (raw wait status)
 *   worker → launcher  "A" pid            the worker (this pid) will act for us once we answer
 *                                         "G"; until then a dropped connection means "run
 *                                         directly". We wait for "A" (or "F") a bounded time and
 *                                         then hang up and run directly: a worker that answers
 *                                         "A" later finds us gone before it acted.
 *                      "P" nmap target source ... argc argv... [envc env... cwd]
 *                      start a program; each target fd gets source "c<N>" (the launcher's fd
 *                      N) or "a<K>" (the K-th fd attached to this message), all others closed;
 *                      with our environment and cwd unless the message names its own
 *                      "K" pid signal     signal a program we started, unless it has ended
 *                                         (a reaped pid may be another process's by now)
 *                      "X" code           exit with this status
 *                      "F" reason         not served here: run directly (sent before any effect)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "launch-verbs.h"
#include "wire.h"

#ifndef LAUNCH_NAME
#error "LAUNCH_NAME must be defined (leopard-oci or leopard)"
#endif

#define MAX_MSG (256 * 1024)
#define MAX_FDS LP_PASS_MAX
#define MAX_CHILDREN 64

extern char **environ;

/* Short enough that any of these plus a suffix fits in PATH_MAX. */
static char top[PATH_MAX - 256];     /* the checkout, or the install's lib/leopard */
static char bun[PATH_MAX];
static char bundle_dir[PATH_MAX - 256];
static int installed;
static volatile pid_t worker_pid;
static int sigpipe_w = -1;

/* A failure of the launcher itself: runc's status 1 for leopard-oci, docker's 125 for leopard. */
#define LAUNCH_FAIL (strcmp(LAUNCH_NAME, "leopard") == 0 ? 125 : 1)

static void die(const char *what) {
  fprintf(stderr, "%s: %s: %s\n", LAUNCH_NAME, what, strerror(errno));
  exit(LAUNCH_FAIL);
}

/* snprintf that refuses a path too long for its buffer. */
__attribute__((format(printf, 3, 4))) static void fmt(char *buf, size_t size, const char *f, ...) {
  va_list ap;
  va_start(ap, f);
  int n = vsnprintf(buf, size, f, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= size) {
    errno = ENAMETOOLONG;
    die("a path of leopard's files is too long");
  }
}

/* Cuts the last n components off path (in place). */
static void up(char *path, int n) {
  for (int i = 0; i < n; i++) {
    char *slash = strrchr(path, '/');
    if (!slash || slash == path) {
      errno = ENOENT;
      die("cannot find leopard's files above this binary");
    }
    *slash = 0;
  }
}

/* Installed (<prefix>/bin/<name> beside <prefix>/lib/leopard/bun) or the checkout
 * (<top>/native/build/<name>). */
static void find_layout(void) {
  char exe[PATH_MAX - 256];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) die("readlink /proc/self/exe");
  exe[n] = 0;
  fmt(top, sizeof top, "%s", exe);
  up(top, 2);
  char lib[PATH_MAX];
  fmt(lib, sizeof lib, "%s/lib/leopard", top);
  fmt(bun, sizeof bun, "%s/bun", lib);
  if (access(bun, X_OK) == 0) {
    installed = 1;
    fmt(top, sizeof top, "%s", lib);
    fmt(bundle_dir, sizeof bundle_dir, "%s", lib);
    return;
  }
  fmt(top, sizeof top, "%s", exe);
  up(top, 3);
  fmt(bun, sizeof bun, "%s/node_modules/bun/bin/bun.exe", top);
  fmt(bundle_dir, sizeof bundle_dir, "%s/build/cli", top);
}

static int newer(const struct timespec *a, const struct timespec *b) {
  return a->tv_sec > b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec > b->tv_nsec);
}

/* Whether a source the bundle was built from is newer than t or gone: the bundle's .inputs file
 * (written by `make`, src/cli/gen-bundle-inputs.ts) lists them, one path per line relative to
 * the checkout; each is stat'ed, nothing is walked. No list (a bundle built some other way): stale. */
static int inputs_newer(const char *bundle, const struct timespec *t) {
  char list[PATH_MAX];
  fmt(list, sizeof list, "%s.inputs", bundle);
  autoclose int fd = open(list, O_RDONLY | O_CLOEXEC);
  autoclose int topfd = open(top, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || topfd < 0) return 1;
  static char buf[64 * 1024];
  size_t len = 0;
  ssize_t n;
  while (len < sizeof buf && (n = read(fd, buf + len, sizeof buf - len)) != 0) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return 1;
    len += (size_t)n;
  }
  if (len == 0 || len == sizeof buf || buf[len - 1] != '\n') return 1; /* empty, too long or cut */
  for (char *line = buf, *end; line < buf + len; line = end + 1) {
    end = memchr(line, '\n', (size_t)(buf + len - line));
    *end = 0;
    struct stat st;
    if (*line && (fstatat(topfd, line, &st, AT_SYMLINK_NOFOLLOW) != 0 || newer(&st.st_mtim, t))) return 1;
  }
  return 0;
}

/* The bundle's path and mtime stamp when it exists and (in the checkout) none of its sources is
 * newer; else 0. An installed tree has no sources: nothing is looked at. */
static int fresh_bundle(char *path, size_t size, char *stamp, size_t stamp_size) {
  fmt(path, size, "%s/%s.js", bundle_dir, LAUNCH_NAME);
  struct stat st;
  if (stat(path, &st) != 0) return 0;
  if (!installed && inputs_newer(path, &st.st_mtim)) return 0;
  fmt(stamp, stamp_size, "%lld.%09ld", (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
  return 1;
}

/* The command: the first argument that is neither a global flag nor a global flag's value. */
static const char *verb_of(int argc, char **argv) {
  static const char *const valued[] = {"--root", "--log", "--log-format", "--rootless", "--criu", "--storage", "--run"};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    int takes = 0;
    for (size_t k = 0; k < sizeof valued / sizeof *valued; k++) takes |= !strcmp(a, valued[k]);
    if (takes) {
      i++;
      continue;
    }
    if (a[0] != '-') return a;
  }
  return "";
}

/* The light bundle (a file under bundle_dir) that runs this leopard-oci verb, or NULL for the
 * whole CLI: which verbs and which bundles is TypeScript's (launch-verbs.h, generated from
 * src/cli/oci-light.ts). */
static const char *light_bundle(int argc, char **argv) {
  if (strcmp(LAUNCH_NAME, "leopard-oci") != 0) return NULL;
  const char *v = verb_of(argc, argv);
  for (const struct lv_verb_bundle *l = lv_verb_bundles; l->verb; l++)
    if (!strcmp(v, l->verb)) return l->bundle;
  return NULL;
}

static void run_direct(int argc, char **argv, int fresh) {
  char script[PATH_MAX];
  const char *light = fresh ? light_bundle(argc, argv) : NULL;
  if (light)
    fmt(script, sizeof script, "%s/%s", bundle_dir, light);
  else if (fresh)
    fmt(script, sizeof script, "%s/%s.js", bundle_dir, LAUNCH_NAME);
  else
    fmt(script, sizeof script, "%s/src/cli/%s.ts", top, LAUNCH_NAME);
  /* leopard-oci's calls run directly get Bun's environment from launch-verbs.h (DIRECT_BUN_ENV),
   * what the caller did not set; LEOPARD_DIRECT_ENV names what was added, for `serve` to take it
   * out of its workers' environment (they are long-lived). */
  if (!strcmp(LAUNCH_NAME, "leopard-oci")) {
    char added[256] = "";
    for (const char *const *e = lv_direct_env; *e; e += 2) {
      if (getenv(e[0])) continue;
      if (setenv(e[0], e[1], 0) != 0) die("setenv");
      size_t len = strlen(added);
      fmt(added + len, sizeof added - len, "%s%s", len ? "," : "", e[0]);
    }
    if (*added && setenv("LEOPARD_DIRECT_ENV", added, 1) != 0) die("setenv");
  }
  char **args = calloc((size_t)argc + 5, sizeof *args);
  if (!args) die("calloc");
  int n = 0;
  args[n++] = bun;
  /* Nothing from the caller's directory: Bun would load its .env files into our environment and
   * its bunfig.toml (whose preload runs code in this process, as whoever called us). */
  args[n++] = "--no-env-file";
  args[n++] = "--config=/dev/null";
  args[n++] = script;
  for (int i = 1; i < argc; i++) args[n++] = argv[i];
  execv(bun, args);
  die(bun);
}

/* ---- served ---- */

struct buf {
  char *p;
  size_t len, cap;
};

static int put(struct buf *b, const char *s) {
  size_t n = strlen(s) + 1;
  if (b->len + n > b->cap) return -1;
  memcpy(b->p + b->len, s, n);
  b->len += n;
  return 0;
}

static int putnum(struct buf *b, long long v) {
  char s[32];
  snprintf(s, sizeof s, "%lld", v);
  return put(b, s);
}

/* A message: its letter (LW_*) and up to two fields. */
static int send_text(int sock, char type, const char *b, const char *c) {
  char msg[128], letter[2] = {type, 0};
  size_t len = 0;
  const char *parts[] = {letter, b, c};
  for (int i = 0; i < 3 && parts[i]; i++) {
    size_t n = strlen(parts[i]) + 1;
    if (len + n > sizeof msg) return -1;
    memcpy(msg + len, parts[i], n);
    len += n;
  }
  return lp_send_fds(sock, msg, len, NULL, 0);
}

static void forward(int sig) {
  int saved = errno;
  if (worker_pid > 0) kill(worker_pid, sig);
  errno = saved;
}

static void on_child(int sig) {
  (void)sig;
  int saved = errno;
  if (sigpipe_w >= 0) {
    char c = 0;
    ssize_t r = write(sigpipe_w, &c, 1);
    (void)r;
  }
  errno = saved;
}

static const int FORWARDED[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};

/* Closes every fd from `from` up but a and b (either may be -1, or below from: then ignored). */
static void close_from_except(int from, int a, int b) {
  int keep[2] = {a < b ? a : b, a < b ? b : a};
  int lo = from;
  for (int i = 0; i < 2; i++) {
    if (keep[i] < lo) continue;
    if (keep[i] > lo) syscall(SYS_close_range, (unsigned)lo, (unsigned)keep[i] - 1, 0);
    lo = keep[i] + 1;
  }
  syscall(SYS_close_range, (unsigned)lo, ~0U, 0);
}

/* In the forked child: the fds the worker asked for, nothing else, default signals, then exec:
 * of argv[0]'s path, or of the file open as exec_src (the worker's LW_EXEC_TARGET entry), which
 * the child keeps close-on-exec only until then. */
static void exec_child(char **argv, char **envp, const char *cwd, const int *targets, const int *sources,
                       int n, int exec_src, int errpipe) {
  sigset_t none;
  sigemptyset(&none);
  for (size_t i = 0; i < sizeof FORWARDED / sizeof *FORWARDED; i++) signal(FORWARDED[i], SIG_DFL);
  signal(SIGCHLD, SIG_DFL);
  sigprocmask(SIG_SETMASK, &none, NULL);
  /* First every source above every target, so no dup2 clobbers a source not yet placed. */
  int high[MAX_FDS];
  int top_target = 2;
  for (int i = 0; i < n; i++)
    if (targets[i] > top_target) top_target = targets[i];
  int floor_fd = top_target + 1 > errpipe + 1 ? top_target + 1 : errpipe + 1;
  int exec_fd = -1;
  if (exec_src >= 0 && (exec_fd = fcntl(exec_src, F_DUPFD_CLOEXEC, floor_fd)) < 0) goto fail;
  for (int i = 0; i < n; i++) {
    high[i] = fcntl(sources[i], F_DUPFD_CLOEXEC, floor_fd);
    if (high[i] < 0) goto fail;
  }
  for (int i = 0; i < n; i++)
    if (dup2(high[i], targets[i]) < 0) goto fail;
  /* Every other fd below the top target, then everything above it but the error pipe. */
  for (int fd = 0; fd <= top_target; fd++) {
    int wanted = 0;
    for (int i = 0; i < n; i++) wanted |= targets[i] == fd;
    if (!wanted && fd != errpipe) close(fd);
  }
  for (int i = 0; i < n; i++) close(high[i]);
  close_from_except(top_target + 1, errpipe, exec_fd);
  if (cwd && chdir(cwd) != 0) goto fail;
  if (exec_fd >= 0)
    syscall(SYS_execveat, exec_fd, "", argv, envp ? envp : environ, AT_EMPTY_PATH);
  else
    execve(argv[0], argv, envp ? envp : environ);
fail:;
  int e = errno;
  ssize_t r = write(errpipe, &e, sizeof e);
  (void)r;
  _exit(127);
}

struct served {
  int sock;
  int sigpipe[2];
  pid_t children[MAX_CHILDREN];
  int nchildren;
};

/* "P" nmap (target source)... argc argv... with attached fds; a target LW_EXEC_TARGET names the
 * program's file instead of a child fd. Returns 0, or -1 on a bad message. */
static int spawn(struct served *s, char *msg, size_t len, const int *att, int natt) {
  static char *fields[4096];
  int nf = 0;
  for (size_t off = 0; off < len && nf < 4096;) {
    fields[nf++] = msg + off;
    off += strlen(msg + off) + 1;
  }
  int i = 1;
  if (i >= nf) return -1;
  int nmap = atoi(fields[i++]);
  if (nmap < 0 || nmap > MAX_FDS || i + 2 * nmap >= nf) return -1;
  int targets[MAX_FDS], sources[MAX_FDS];
  int nfd = 0, exec_src = -1;
  for (int e = 0; e < nmap; e++) {
    const char *t = fields[i++], *src = fields[i++];
    int is_exec = strcmp(t, LW_EXEC_TARGET) == 0;
    int target = is_exec ? 0 : atoi(t);
    int idx = atoi(src + 1);
    if (target < 0 || target > 4096 || (is_exec && exec_src >= 0)) return -1;
    int source;
    if (src[0] == LW_FROM_LAUNCHER && idx >= 0) {
      /* The caller's own fd: open, and not one of ours (a closed slot may hold our socket). */
      int ours = idx == s->sock || idx == s->sigpipe[0] || idx == s->sigpipe[1];
      for (int j = 0; j < natt; j++) ours |= idx == att[j];
      if (ours || fcntl(idx, F_GETFD) < 0) {
        char err[16];
        snprintf(err, sizeof err, "%d", EBADF);
        return send_text(s->sock, LW_FAILED, err, NULL);
      }
      source = idx;
    }
    else if (src[0] == LW_FROM_ATTACHED && idx >= 0 && idx < natt)
      source = att[idx];
    else
      return -1;
    if (is_exec)
      exec_src = source;
    else {
      targets[nfd] = target;
      sources[nfd++] = source;
    }
  }
  int argc = atoi(fields[i++]);
  if (argc < 1 || i + argc > nf) return -1;
  char *argv[256];
  if (argc > 255) return -1;
  for (int k = 0; k < argc; k++) argv[k] = fields[i + k];
  argv[argc] = NULL;
  i += argc;
  /* Optional: an environment and a working directory of the program's own. */
  char **envp = NULL;
  const char *cwd = NULL;
  if (i < nf) {
    int envc = atoi(fields[i++]);
    if (envc < 0 || envc > 1000 || i + envc + 1 != nf) return -1;
    envp = calloc((size_t)envc + 1, sizeof *envp);
    if (!envp) die("calloc");
    for (int k = 0; k < envc; k++) envp[k] = fields[i + k];
    cwd = fields[i + envc];
  }
  if (s->nchildren >= MAX_CHILDREN) {
    char e[16];
    snprintf(e, sizeof e, "%d", EAGAIN);
    return send_text(s->sock, LW_FAILED, e, NULL);
  }
  int ep[2];
  if (pipe2(ep, O_CLOEXEC) < 0) die("pipe2");
  autoclose int ep_r = ep[0];
  autoclose int ep_w = ep[1];
  pid_t pid = fork();
  if (pid == 0) {
    lp_closep(&ep_r);
    exec_child(argv, envp, cwd, targets, sources, nfd, exec_src, ep_w);
  }
  lp_closep(&ep_w);
  free(envp);
  int err = 0;
  if (pid < 0)
    err = errno;
  else {
    ssize_t r;
    do r = read(ep_r, &err, sizeof err);
    while (r < 0 && errno == EINTR);
    if (r != (ssize_t)sizeof err) err = 0;
  }
  lp_closep(&ep_r);
  char num[32];
  if (err != 0) {
    if (pid > 0) waitpid(pid, NULL, 0);
    snprintf(num, sizeof num, "%d", err);
    return send_text(s->sock, LW_FAILED, num, NULL);
  }
  s->children[s->nchildren++] = pid;
  snprintf(num, sizeof num, "%d", (int)pid);
  return send_text(s->sock, LW_STARTED, num, NULL);
}

/* "K" pid signal: only a child not yet reaped (alive, or a zombie holding its pid). */
static int signal_child(struct served *s, char *msg, size_t len) {
  if (len < 6) return -1;
  char *pid_s = msg + 2, *sig_s = pid_s + strlen(pid_s) + 1;
  if ((size_t)(sig_s - msg) >= len) return -1;
  pid_t pid = atoi(pid_s);
  for (int k = 0; k < s->nchildren; k++)
    if (pid > 0 && s->children[k] == pid) kill(pid, atoi(sig_s));
  return 0;
}

static void reap(struct served *s) {
  for (int k = 0; k < s->nchildren;) {
    int status;
    pid_t r = waitpid(s->children[k], &status, WNOHANG);
    if (r == s->children[k]) {
      char p[32], st[32];
      snprintf(p, sizeof p, "%d", (int)r);
      snprintf(st, sizeof st, "%d", status);
      send_text(s->sock, LW_CHILD, p, st);
      s->children[k] = s->children[--s->nchildren];
    } else
      k++;
  }
}

static int required;

static long long now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* How long a worker may take to answer a connect ("A" or "F"): LEOPARD_SERVE_WAIT_MS, default 500. */
static int wait_ms(void) {
  const char *w = getenv("LEOPARD_SERVE_WAIT_MS");
  char *end;
  long v = w && *w ? strtol(w, &end, 10) : -1;
  if (v < 0 || v > 600000 || (w && *end)) return 500;
  return (int)v;
}

/* Not served: an error when LEOPARD_SERVE=1 asked to be, else -1 (run directly). */
static int not_served(const char *why, const char *detail) {
  if (!required) return -1;
  fprintf(stderr, "%s: not served (LEOPARD_SERVE=1): %s%s%s\n", LAUNCH_NAME, why, detail ? ": " : "",
          detail ? detail : "");
  exit(LAUNCH_FAIL);
}

/* The socket directory, by src/serve/serve-dir.ts's rule, its names from launch-verbs.h
 * (test/serve/serve-dir.test.ts checks we agree): $LEOPARD_SERVE_DIR; the host's root's; anyone
 * else's under $XDG_RUNTIME_DIR, in a user namespace other than the initial one that namespace's
 * subdirectory. -1 when there is none (a user without XDG_RUNTIME_DIR). */
static int serve_dir(char *out, size_t n) {
  const char *set = getenv("LEOPARD_SERVE_DIR");
  if (set && *set) return snprintf(out, n, "%s", set) >= (int)n ? -1 : 0;
  struct stat st;
  unsigned long long ino = stat("/proc/self/ns/user", &st) == 0 ? (unsigned long long)st.st_ino : 0;
  int initial = ino == LV_INITIAL_USERNS_INO;
  if (geteuid() == 0 && initial) return snprintf(out, n, "%s", LV_SYSTEM_SERVE_DIR) >= (int)n ? -1 : 0;
  const char *xdg = getenv("XDG_RUNTIME_DIR");
  if (!xdg || xdg[0] != '/') return -1;
  size_t len = strlen(xdg);
  while (len > 1 && xdg[len - 1] == '/') len--;
  int w = initial ? snprintf(out, n, "%.*s/%s", (int)len, xdg, LV_USER_SERVE_DIR)
                  : snprintf(out, n, "%.*s/%s/%s%llu", (int)len, xdg, LV_USER_SERVE_DIR, LV_USERNS_DIR_PREFIX, ino);
  return w < 0 || w >= (int)n ? -1 : 0;
}

/* Returns the exit status, or -1 to run directly (nothing happened yet). */
static int serve(int argc, char **argv, const char *stamp) {
  /* <dir>/<name>.sock: one directory for both servers, each its own socket. */
  char dir[PATH_MAX], path[PATH_MAX];
  if (serve_dir(dir, sizeof dir) != 0) return not_served("no socket directory", "XDG_RUNTIME_DIR is not set");
  if (snprintf(path, sizeof path, "%s/%s.sock", dir, LAUNCH_NAME) >= (int)sizeof path)
    return not_served("the socket directory's name is too long", NULL);
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof addr.sun_path) return not_served("socket path too long", path);
  strcpy(addr.sun_path, path);
  /* Closed (hung up) and freed on every return: before running directly, a worker that takes
   * the call later must find us gone. */
  autoclose int sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (sock < 0) return not_served("socket", strerror(errno));
  if (connect(sock, (struct sockaddr *)&addr, sizeof addr) != 0) return not_served(path, strerror(errno));
  struct ucred cred;
  socklen_t clen = sizeof cred;
  if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &clen) != 0 || cred.uid != geteuid())
    return not_served("the server runs as another user", NULL);
  /* The request. */
  autofree char *msg = malloc(MAX_MSG);
  struct buf b = {.p = msg, .len = 0, .cap = MAX_MSG};
  if (!b.p) die("malloc");
  char cwd[PATH_MAX];
  struct rlimit nofile;
  int bad = getcwd(cwd, sizeof cwd) == NULL || getrlimit(RLIMIT_NOFILE, &nofile) != 0;
  int securebits = prctl(PR_GET_SECUREBITS, 0, 0, 0, 0);
  bad = bad || securebits < 0;
  /* The fields before argv, each at its position in wire.h. */
  char cur[32], max[32], bits[32], nargs[32];
  snprintf(cur, sizeof cur, "%llu", (unsigned long long)nofile.rlim_cur);
  snprintf(max, sizeof max, "%llu", (unsigned long long)nofile.rlim_max);
  snprintf(bits, sizeof bits, "%d", securebits);
  snprintf(nargs, sizeof nargs, "%d", argc - 1);
  const char *head[LW_REQ_HEAD] = {
      [LW_REQ_MAGIC] = LW_MAGIC,   [LW_REQ_NAME] = LAUNCH_NAME,      [LW_REQ_STAMP] = stamp,
      [LW_REQ_CWD] = cwd,          [LW_REQ_NOFILE_CUR] = cur,        [LW_REQ_NOFILE_MAX] = max,
      [LW_REQ_SECUREBITS] = bits,  [LW_REQ_ARGC] = nargs,
  };
  for (int i = 0; i < LW_REQ_HEAD && !bad; i++) bad = !head[i] || put(&b, head[i]);
  for (int i = 1; i < argc && !bad; i++) bad = put(&b, argv[i]);
  int envc = 0;
  for (char **e = environ; *e; e++) envc++;
  bad = bad || putnum(&b, envc);
  for (char **e = environ; *e && !bad; e++) bad = put(&b, *e);
  if (bad || lp_send_fds(sock, b.p, b.len, NULL, 0) != 0) return not_served("cannot send the request", NULL);

  /* Once the worker says "A", signals go to it and children are reported to it. (SO_PEERCRED
   * names the process that called listen(), the supervisor, not the worker that accepted.) */
  int sp[2];
  if (pipe2(sp, O_CLOEXEC | O_NONBLOCK) < 0) die("pipe2");
  sigpipe_w = sp[1];
  struct sigaction sa = {.sa_handler = on_child, .sa_flags = SA_RESTART | SA_NOCLDSTOP};
  sigemptyset(&sa.sa_mask);
  sigaction(SIGCHLD, &sa, NULL);

  struct served s = {.sock = sock, .sigpipe = {sp[0], sp[1]}};
  int accepted = 0;
  long long deadline = now_ms() + wait_ms();
  for (;;) {
    struct pollfd p[2] = {{.fd = sock, .events = POLLIN}, {.fd = sp[0], .events = POLLIN}};
    long long left = accepted ? -1 : deadline - now_ms();
    if (!accepted && left <= 0) {
      /* No worker took the call (a wedged or overloaded server): hang up, so that one taking it
       * later finds us gone before it acts ("A" waits for our "G"), and run directly. */
      return not_served("no worker took the call in time", NULL);
    }
    int ready = poll(p, 2, left > INT_MAX ? INT_MAX : (int)left);
    if (ready < 0) {
      if (errno == EINTR) continue;
      die("poll");
    }
    if (ready == 0) continue;
    if (p[1].revents) {
      char drain[64];
      while (read(sp[0], drain, sizeof drain) > 0) {
      }
      reap(&s);
    }
    if (!p[0].revents) continue;
    struct iovec iov = {.iov_base = b.p, .iov_len = b.cap - 1};
    char cbuf[CMSG_SPACE(sizeof(int) * MAX_FDS)];
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
    ssize_t n = recvmsg(sock, &m, MSG_CMSG_CLOEXEC);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0 && !accepted) {
      /* Never taken by a worker (the server stopped with us in its queue): nothing happened. */
      return not_served("the server closed the connection", NULL);
    }
    if (n < 0) die("recvmsg from the leopard server");
    if (n == 0) {
      fprintf(stderr, "%s: the leopard server's worker went away before it finished\n", LAUNCH_NAME);
      return LAUNCH_FAIL;
    }
    b.p[n] = 0;
    int att[MAX_FDS], natt = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
      int k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
      for (int j = 0; j < k && natt < MAX_FDS; j++) memcpy(&att[natt++], CMSG_DATA(c) + j * sizeof(int), sizeof(int));
    }
    int rc = 0;
    switch (b.p[0]) {
      case LW_ACCEPTED: {
        if (accepted) {
          rc = -1;
          break;
        }
        /* stdio goes with "G", not with the request: fds in flight to a worker that never takes
         * the call would hold our stdout open, and whoever reads it to EOF would wait. They are
         * open since main() (a closed one became /dev/null), so never our own socket. */
        static const int stdio[3] = {0, 1, 2};
        static const char go[2] = {LW_GO, 0};
        if (lp_send_fds(sock, go, sizeof go, stdio, 3) != 0) /* the worker is gone before it acted */
          return not_served("the server closed the connection", NULL);
        accepted = 1;
        if (n > 2) worker_pid = atoi(b.p + 2);
        struct sigaction fw = {.sa_handler = forward, .sa_flags = SA_RESTART};
        sigemptyset(&fw.sa_mask);
        for (size_t i = 0; i < sizeof FORWARDED / sizeof *FORWARDED; i++) sigaction(FORWARDED[i], &fw, NULL);
        break;
      }
      case LW_EXIT:
        return atoi(b.p + 2) & 0xff;
      case LW_FALLBACK:
        if (!accepted && s.nchildren == 0) return not_served("the worker declined", n > 2 ? b.p + 2 : NULL);
        rc = -1;
        break;
      case LW_SPAWN:
        rc = spawn(&s, b.p, (size_t)n, att, natt);
        break;
      case LW_KILL:
        rc = signal_child(&s, b.p, (size_t)n);
        break;
      default:
        rc = -1;
    }
    for (int j = 0; j < natt; j++) close(att[j]);
    if (rc != 0) {
      fprintf(stderr, "%s: bad message from the leopard server ('%c')\n", LAUNCH_NAME, b.p[0]);
      return LAUNCH_FAIL;
    }
  }
}

/* fds 0-2 closed by whoever started us become /dev/null before we open anything: else our socket
 * to the server would take one of their numbers and go to the worker as the caller's stdio. */
static void open_stdio(void) {
  for (int fd = 0; fd < 3; fd++) {
    if (fcntl(fd, F_GETFD) >= 0) continue;
    int null = open("/dev/null", O_RDWR);
    if (null < 0) die("open /dev/null");
    if (null != fd) {
      errno = EBADF;
      die("/dev/null did not take the closed stdio fd");
    }
  }
}

int main(int argc, char **argv) {
  open_stdio();
  find_layout();
  char helper[PATH_MAX];
  fmt(helper, sizeof helper, installed ? "%s/leopard-helper" : "%s/native/build/leopard-helper", top);
  setenv("LEOPARD_HELPER", helper, 0);
  char bundle[PATH_MAX], stamp[64] = "";
  int fresh = fresh_bundle(bundle, sizeof bundle, stamp, sizeof stamp);
  const char *want = getenv("LEOPARD_SERVE");
  required = want && !strcmp(want, "1");
  if (required && !fresh) not_served("the bundle is missing or older than the sources", bundle);
  /* `serve` is the server: never a call to one (under systemd the socket it connected to would
   * be its own, not yet answered). */
  int is_server = !strcmp(verb_of(argc, argv), "serve");
  if (fresh && !is_server && !(want && !strcmp(want, "0"))) {
    int rc = serve(argc, argv, stamp);
    if (rc >= 0) return rc;
    /* Not served: undo what serve() set up, then run directly. */
    worker_pid = 0;
    for (size_t i = 0; i < sizeof FORWARDED / sizeof *FORWARDED; i++) signal(FORWARDED[i], SIG_DFL);
    signal(SIGCHLD, SIG_DFL);
  }
  run_direct(argc, argv, fresh);
  return LAUNCH_FAIL;
}
