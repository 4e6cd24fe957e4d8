/* keeper.c: lib/leopard/leopard-keeper, what `leopard-oci serve` and `leopard serve` become once
 * the TypeScript side (src/serve/supervisor.ts) has read the flags, checked the socket's
 * directory and bound (or adopted systemd's) listening socket: it execs this program with every
 * number decided. Why C: the supervisor only starts workers and counts them, and as a Bun process
 * it held ~50 MB RSS (the Bun executable's pages, ~30 MB of them, counted once per process) for
 * that — a third of what both servers held while idle. This one holds ~1 MB and keeps the pid
 * systemd started (execve), so the service's main process is unchanged.
 *
 *   leopard-keeper NAME BUNDLE LISTEN_FD WORKERS IDLE_EXIT_MS RETIRE_MS ACTIVATED SOCKET INO -- COMMAND...
 *
 * It keeps WORKERS idle workers (each runs COMMAND, which runs BUNDLE; the listening socket as fd 3, a pipe as stdin that
 * says stop by EOF, a pipe as stdout on which the worker says "busy" when it takes a connection
 * and "idle" when it is back; env LEOPARD_SERVE_WORKER=NAME, LEOPARD_SERVE_STAMP=the bundle's
 * mtime as the launcher formats it). With WORKERS 1 a second worker is started only
 * while a call waits in the socket's queue (seen twice, QUEUE_POLL_MS apart) and every worker is
 * busy; with more, one is started as soon as fewer than WORKERS are idle. A surplus idle worker
 * is stopped after it idled RETIRE_MS. With IDLE_EXIT_MS > 0, the server exits once no worker was
 * busy for that long. SIGTERM or SIGINT: the socket (only when ACTIVATED is 0, and only if SOCKET
 * is still inode INO: another server may have taken the path since) is removed, every worker is
 * told to stop (busy ones finish their call first), and it exits once they have. Workers that
 * die before taking a connection MAX_EARLY_DEATHS times in a row stop the server (status 1).
 * Libc only; nothing here reads a caller's input. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_WORKERS 64
#define MAX_EARLY_DEATHS 5
#define QUEUE_POLL_MS 10
#define LISTEN_FD 3

struct worker {
  pid_t pid;
  int in, out; /* our ends: its stdin (EOF: stop) and its stdout ("busy"/"idle" lines) */
  int busy, idle, served;
  long long retire_at; /* ms; 0: not to be retired */
  char line[32];
  size_t len;
};

static struct worker ws[MAX_WORKERS];
static int nws;
static const char *name, *bundle;
static char **command;
static int want, activated;
static long long idle_exit_ms, retire_ms;
static int early_deaths, failed, stopping;
static long long idle_deadline, next_start, watch_next;
static int watch_seen, watching;
static sigset_t blocked;

static long long now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static int count(int idle) {
  int n = 0;
  for (int i = 0; i < nws; i++) n += idle ? ws[i].idle : ws[i].busy;
  return n;
}

/* Arms the idle exit while no worker is busy; disarms it while one is. */
static void idle_clock(void) {
  idle_deadline = (idle_exit_ms > 0 && !stopping && count(0) == 0) ? now_ms() + idle_exit_ms : 0;
}

/* EOF on its control pipe: it exits before taking another call (a busy one finishes first). */
static void stop_worker(struct worker *w) {
  if (w->in >= 0) close(w->in);
  w->in = -1;
}

static void start_worker(void) {
  if (nws == MAX_WORKERS) return;
  int in[2], out[2];
  if (pipe2(in, O_CLOEXEC) != 0) return;
  if (pipe2(out, O_CLOEXEC | O_NONBLOCK) != 0) {
    close(in[0]), close(in[1]);
    return;
  }
  char stamp[64] = "";
  struct stat st;
  if (stat(bundle, &st) == 0)
    snprintf(stamp, sizeof stamp, "%lld.%09ld", (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
  pid_t pid = fork();
  if (pid == 0) {
    /* The child: its stdin and stdout, fd 3 the socket, default signals, and exec. */
    if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0) _exit(127);
    int fl = fcntl(1, F_GETFL);
    if (fl < 0 || fcntl(1, F_SETFL, fl & ~O_NONBLOCK) != 0) _exit(127);
    for (int s = 1; s < NSIG; s++) signal(s, SIG_DFL);
    sigprocmask(SIG_UNBLOCK, &blocked, NULL);
    if (setenv("LEOPARD_SERVE_WORKER", name, 1) != 0 || setenv("LEOPARD_SERVE_STAMP", stamp, 1) != 0)
      _exit(127);
    execv(command[0], command);
    fprintf(stderr, "%s serve: cannot run %s: %s\n", name, command[0], strerror(errno));
    _exit(127);
  }
  close(in[0]), close(out[1]);
  if (pid < 0) {
    close(in[1]), close(out[0]);
    return;
  }
  ws[nws++] = (struct worker){.pid = pid, .in = in[1], .out = out[0], .idle = 1};
}

/* Another worker for a busy one: at once, or (WORKERS 1) only while calls overlap. */
static void on_busy(void) {
  if (stopping || count(1) >= want) return;
  if (count(1) == 0 && want == 1) {
    if (!watching) watching = 1, watch_seen = 0, watch_next = now_ms() + QUEUE_POLL_MS;
  } else
    start_worker();
}

static void on_line(struct worker *w, const char *l) {
  if (!strcmp(l, "busy")) {
    w->served = 1, early_deaths = 0;
    w->idle = 0, w->busy = 1, w->retire_at = 0;
    idle_clock();
    on_busy();
  } else if (!strcmp(l, "idle")) {
    w->busy = 0, w->idle = 1;
    idle_clock();
    if (stopping)
      stop_worker(w);
    else if (count(1) > want)
      w->retire_at = now_ms() + retire_ms;
  }
}

/* Reads what the worker said; at EOF (it closed its stdout) stops watching the pipe. */
static void read_lines(struct worker *w) {
  char buf[256];
  ssize_t n;
  if (w->out < 0) return;
  while ((n = read(w->out, buf, sizeof buf)) != 0) {
    if (n < 0) {
      if (errno == EINTR) continue;
      return; /* EAGAIN: all read */
    }
    for (ssize_t i = 0; i < n; i++) {
      if (buf[i] == '\n') {
        w->line[w->len] = 0;
        on_line(w, w->line);
        w->len = 0;
      } else if (w->len < sizeof w->line - 1)
        w->line[w->len++] = buf[i];
    }
  }
  close(w->out);
  w->out = -1;
}

static void reap(void) {
  int status;
  pid_t pid;
  while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
    for (int i = 0; i < nws; i++) {
      if (ws[i].pid != pid) continue;
      struct worker w = ws[i];
      read_lines(&w); /* what it said before it exited */
      if (w.out >= 0) close(w.out);
      stop_worker(&w);
      ws[i] = ws[--nws];
      idle_clock();
      if (stopping) break;
      if (!w.served && ++early_deaths >= MAX_EARLY_DEATHS) {
        failed = 1;
        fprintf(stderr, "%s serve: workers keep dying before they take a request; stopping\n", name);
        stopping = 1;
      } else if (count(1) < want && next_start == 0)
        next_start = now_ms() + (w.served ? 0 : 100 * early_deaths);
      break;
    }
  }
}

static int pending(void) {
  struct pollfd p = {.fd = LISTEN_FD, .events = POLLIN};
  return poll(&p, 1, 0) > 0 && (p.revents & POLLIN);
}

/* The timers: a delayed start, the queue watch, surplus workers' retirement, the idle exit. */
static void tick(long long t) {
  if (next_start && t >= next_start) {
    next_start = 0;
    if (!stopping && count(1) < want) start_worker();
  }
  if (watching && t >= watch_next) {
    watch_next = t + QUEUE_POLL_MS;
    if (stopping || count(1) > 0 || count(0) == 0)
      watching = 0;
    else if (!pending())
      watch_seen = 0;
    else if (watch_seen)
      start_worker();
    else
      watch_seen = 1;
  }
  for (int i = 0; i < nws; i++) {
    if (!ws[i].retire_at || t < ws[i].retire_at) continue;
    ws[i].retire_at = 0;
    if (!stopping && ws[i].idle && count(1) > want) ws[i].idle = 0, stop_worker(&ws[i]);
  }
  if (idle_deadline && t >= idle_deadline) stopping = 1;
}

static long long timeout_ms(long long t) {
  long long next = -1;
  long long at[] = {next_start, watching ? watch_next : 0, idle_deadline};
  for (size_t i = 0; i < sizeof at / sizeof at[0]; i++)
    if (at[i] && (next < 0 || at[i] < next)) next = at[i];
  for (int i = 0; i < nws; i++)
    if (ws[i].retire_at && (next < 0 || ws[i].retire_at < next)) next = ws[i].retire_at;
  return next < 0 ? -1 : next <= t ? 0 : next - t;
}

int main(int argc, char **argv) {
  if (argc < 12 || strcmp(argv[10], "--") != 0) {
    fprintf(stderr, "leopard-keeper: run by `leopard-oci serve` and `leopard serve`, not by hand\n");
    return 2;
  }
  name = argv[1], bundle = argv[2];
  int listen_fd = atoi(argv[3]);
  want = atoi(argv[4]);
  idle_exit_ms = atoll(argv[5]), retire_ms = atoll(argv[6]);
  activated = !strcmp(argv[7], "1");
  const char *socket_path = argv[8];
  unsigned long long ino = strtoull(argv[9], NULL, 10);
  command = argv + 11;
  if (want < 1) want = 1;
  /* The socket as fd 3 (what workers expect), every other fd but stdio closed. */
  if (listen_fd != LISTEN_FD && (dup2(listen_fd, LISTEN_FD) < 0 || close(listen_fd) != 0)) {
    fprintf(stderr, "%s serve: fd %d: %s\n", name, listen_fd, strerror(errno));
    return 1;
  }
  int fl = fcntl(LISTEN_FD, F_GETFD);
  if (fl < 0 || fcntl(LISTEN_FD, F_SETFD, fl & ~FD_CLOEXEC) != 0) {
    fprintf(stderr, "%s serve: the listening socket (fd 3): %s\n", name, strerror(errno));
    return 1;
  }
  close_range(LISTEN_FD + 1, ~0U, 0);
  sigemptyset(&blocked);
  sigaddset(&blocked, SIGCHLD), sigaddset(&blocked, SIGTERM), sigaddset(&blocked, SIGINT);
  sigprocmask(SIG_BLOCK, &blocked, NULL);
  int sig = signalfd(-1, &blocked, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sig < 0) {
    fprintf(stderr, "%s serve: signalfd: %s\n", name, strerror(errno));
    return 1;
  }
  signal(SIGPIPE, SIG_IGN);
  for (int i = 0; i < want; i++) start_worker();
  idle_clock();
  int closed = 0;
  for (;;) {
    if (stopping && !closed) {
      closed = 1;
      struct stat st;
      if (!activated && lstat(socket_path, &st) == 0 && st.st_ino == ino) unlink(socket_path);
      /* systemd keeps its own copy of a passed socket: calls queued on it start us again. */
      close(LISTEN_FD);
      for (int i = 0; i < nws; i++) stop_worker(&ws[i]);
      next_start = 0, watching = 0, idle_deadline = 0;
    }
    if (stopping && nws == 0) return failed;
    struct pollfd p[MAX_WORKERS + 1];
    p[0] = (struct pollfd){.fd = sig, .events = POLLIN};
    for (int i = 0; i < nws; i++) p[i + 1] = (struct pollfd){.fd = ws[i].out, .events = POLLIN};
    int n = nws;
    long long t = now_ms();
    int r = poll(p, n + 1, (int)timeout_ms(t));
    if (r < 0 && errno != EINTR) {
      fprintf(stderr, "%s serve: poll: %s\n", name, strerror(errno));
      return 1;
    }
    for (int i = 0; r > 0 && i < n && i < nws; i++)
      if (p[i + 1].revents & (POLLIN | POLLHUP | POLLERR)) read_lines(&ws[i]);
    if (r > 0 && (p[0].revents & POLLIN)) {
      struct signalfd_siginfo si;
      while (read(sig, &si, sizeof si) == (ssize_t)sizeof si)
        if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) stopping = 1;
      reap();
    }
    tick(now_ms());
  }
}
