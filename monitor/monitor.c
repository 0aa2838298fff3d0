/* nanolet-monitor: a minimal container monitor (our conmon), one per container, outliving nanolet.
 *
 *   nanolet-monitor --runc PATH --runc-root DIR --id ID --bundle DIR --log PATH --exit-file PATH
 *                   --pid-file PATH [--log-max-size BYTES (10485760)] [--log-max-files N (5)] [--start]
 *
 * The process nanolet starts forks a daemon and waits for it to report the result of `runc create`:
 *   success: prints the container's host PID and a newline on stdout, exits 0 (nanolet then runs runc start);
 *   failure: prints runc's error message on stderr, exits 1, and no daemon is left behind.
 * The daemon (own session, child subreaper, all inherited fds closed, SIGTERM/SIGHUP/SIGINT/SIGPIPE ignored)
 * runs `runc --root DIR --log /proc/self/fd/N --log-format json create --bundle DIR --pid-file PATH ID` with the
 * container's stdin = /dev/null and stdout/stderr = two pipes (runc's pass-through mode: the init inherits them),
 * copies the pipes to the CRI log (`<RFC3339Nano UTC> stdout|stderr F|P <line>`: P for a line cut at 16 KiB, left
 * without newline at EOF, or pending for 1 s without more output), rotates it as the kubelet
 * does, and when the container init (reparented to it once runc create exits) exits, drains the pipes and
 * writes the exit file atomically: {"exitCode":N,"signal":S,"finishedAt":"<RFC3339Nano UTC>"}.
 *
 * With --start the daemon runs `runc run --detach` instead of `runc create`: the container is already started
 * when its PID is reported (one runc process instead of two, create and start).
 *
 * Built static with musl: a running monitor stays well under 1 MiB RSS. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define READ_BUF (32 * 1024)     /* per stream */
#define MAX_LINE (16 * 1024)     /* a pending line this long is written as a partial (P) record */
#define ERR_MAX 4096             /* how much of runc's error text is reported */
#define PARTIAL_IDLE_MS 1000    /* a pending partial line is logged (P) after this long without output */
#define DRAIN_NS 1000000000LL    /* after the init exits, drain the pipes for at most this long */
/* runc create/run gets this long; then it is killed by its PID and the monitor reports the timeout (nanolet waits
 * 60 s for the monitor: a hung runc must not outlive that, held by a daemon nobody waits for). */
#define RUNC_TIMEOUT_NS (50 * 1000000000LL)

static const char *prog = "nanolet-monitor";

/* ---- options ---- */
static const char *o_runc, *o_root, *o_id, *o_bundle, *o_log, *o_exit, *o_pid;
static long long o_max_size = 10485760;
static int o_start; /* --start: `runc run -d` (create and start in one runc process) instead of `runc create` */
static long o_max_files = 5;

/* ---- small helpers ---- */
static void die(const char *fmt, const char *a, const char *b) {
  dprintf(2, "%s: ", prog);
  dprintf(2, fmt, a, b);
  dprintf(2, "\n");
  exit(1);
}

static int write_all(int fd, const void *p, size_t n) {
  const char *c = p;
  while (n > 0) {
    ssize_t w = write(fd, c, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    c += w;
    n -= (size_t)w;
  }
  return 0;
}

static char *xstrdup(const char *s) {
  char *r = strdup(s);
  if (!r) die("out of memory%s%s", "", "");
  return r;
}

/* Absolute form of a path (the daemon runs in /, and so does runc). */
static const char *absolute(const char *p) {
  if (p[0] == '/') return p;
  char cwd[PATH_MAX];
  if (!getcwd(cwd, sizeof cwd)) die("getcwd: %s%s", strerror(errno), "");
  size_t n = strlen(cwd) + strlen(p) + 2;
  char *r = malloc(n);
  if (!r) die("out of memory%s%s", "", "");
  snprintf(r, n, "%s/%s", cwd, p);
  return r;
}

/* "2026-11-27T18:40:01.123456789Z" (32 bytes with NUL); with compact, "20261127-184001". */
static void timestamp(char *out, size_t n, int compact) {
  struct timespec ts;
  struct tm tm;
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  if (compact)
    snprintf(out, n, "%04d%02d%02d-%02d%02d%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec);
  else
    snprintf(out, n, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
             tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec);
}

static long long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void close_inherited_fds(void) {
#ifdef SYS_close_range
  if (syscall(SYS_close_range, 3U, ~0U, 0U) == 0) return;
#endif
  long max = sysconf(_SC_OPEN_MAX);
  if (max < 0 || max > 1 << 20) max = 1 << 20;
  for (long fd = 3; fd < max; fd++) close((int)fd);
}

/* ---- the CRI log ---- */
static int log_fd = -1;
static long long log_size;
static char *log_dir;
static const char *log_base;

static int open_log(void) {
  int fd = open(o_log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
  if (fd < 0) return -1;
  struct stat st;
  log_size = fstat(fd, &st) == 0 ? (long long)st.st_size : 0;
  if (log_fd >= 0) close(log_fd);
  log_fd = fd;
  return 0;
}

/* A rotated file is "<base>.YYYYMMDD-hhmmss" or "<base>.YYYYMMDD-hhmmss.N" (N when that second was taken).
 * Returns the suffix number (0 for none) or -1 when name is not one of ours. */
static long rotated_suffix(const char *name) {
  size_t bl = strlen(log_base);
  if (strncmp(name, log_base, bl) != 0 || name[bl] != '.') return -1;
  const char *t = name + bl + 1;
  for (int i = 0; i < 15; i++) {
    if (i == 8 ? t[i] != '-' : (t[i] < '0' || t[i] > '9')) return -1;
  }
  t += 15;
  if (*t == 0) return 0;
  if (*t != '.' || t[1] == 0) return -1;
  long n = 0;
  for (t++; *t; t++) {
    if (*t < '0' || *t > '9' || n > 100000000) return -1;
    n = n * 10 + (*t - '0');
  }
  return n;
}

static int rotated_cmp(const void *a, const void *b) {
  const char *x = *(const char *const *)a, *y = *(const char *const *)b;
  size_t skip = strlen(log_base) + 1;
  int c = strncmp(x + skip, y + skip, 15);
  if (c) return c;
  long sx = rotated_suffix(x), sy = rotated_suffix(y);
  return sx < sy ? -1 : sx > sy;
}

/* Delete the oldest rotated files so that at most o_max_files files (current + rotated) remain. */
static void prune_rotated(void) {
  DIR *d = opendir(log_dir);
  if (!d) return;
  char **names = NULL;
  size_t n = 0, cap = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (rotated_suffix(e->d_name) < 0) continue;
    if (n == cap) {
      cap = cap ? cap * 2 : 16;
      char **nn = realloc(names, cap * sizeof *names);
      if (!nn) break;
      names = nn;
    }
    if (!(names[n] = strdup(e->d_name))) break;
    n++;
  }
  closedir(d);
  qsort(names, n, sizeof *names, rotated_cmp);
  size_t keep = o_max_files > 1 ? (size_t)(o_max_files - 1) : 0;
  int dfd = open(log_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  for (size_t i = 0; i < n; i++) {
    if (i + keep < n && dfd >= 0) unlinkat(dfd, names[i], 0);
    free(names[i]);
  }
  if (dfd >= 0) close(dfd);
  free(names);
}

static void rotate_log(void) {
  char ts[32];
  timestamp(ts, sizeof ts, 1);
  size_t n = strlen(o_log) + 48;
  char *dst = malloc(n);
  if (!dst) return;
  /* Within one second, each rotation takes a suffix above every one present for that second (pruning may have
   * deleted lower ones, which must not be reused: the newest file has to sort last). */
  long top = -1;
  size_t bl = strlen(log_base);
  DIR *d = opendir(log_dir);
  struct dirent *e;
  while (d && (e = readdir(d))) {
    long sfx = rotated_suffix(e->d_name);
    if (sfx > top && strncmp(e->d_name + bl + 1, ts, 15) == 0) top = sfx;
  }
  if (d) closedir(d);
  if (top < 0)
    snprintf(dst, n, "%s.%s", o_log, ts);
  else
    snprintf(dst, n, "%s.%s.%ld", o_log, ts, top + 1);
  if (rename(o_log, dst) == 0) {
    if (open_log() != 0) log_size = 0; /* keep writing to the renamed file; retry at the next limit */
    prune_rotated();
  } else if (errno == ENOENT && open_log() == 0) {
    /* The log was removed under us: start a new one. */
  } else {
    log_size = 0; /* cannot rotate: don't retry on every line */
  }
  free(dst);
}

static void log_record(const char *tag, int partial, const char *data, size_t len) {
  char hdr[64];
  timestamp(hdr, sizeof hdr, 0);
  size_t hl = strlen(hdr);
  hl += (size_t)snprintf(hdr + hl, sizeof hdr - hl, " %s %c ", tag, partial ? 'P' : 'F');
  long long total = (long long)(hl + len + 1);
  if (log_size > 0 && log_size + total > o_max_size) rotate_log();
  struct iovec iov[3] = {{hdr, hl}, {(void *)data, len}, {"\n", 1}};
  struct iovec *v = iov;
  int cnt = 3;
  while (cnt > 0) {
    ssize_t w = writev(log_fd, v, cnt);
    if (w < 0) {
      if (errno == EINTR) continue;
      return; /* disk full or similar: drop the record, keep the container's pipes flowing */
    }
    log_size += w;
    while (cnt > 0 && (size_t)w >= v->iov_len) {
      w -= (ssize_t)v->iov_len;
      v++;
      cnt--;
    }
    if (cnt > 0) {
      v->iov_base = (char *)v->iov_base + w;
      v->iov_len -= (size_t)w;
    }
  }
}

/* ---- container output streams ---- */
struct stream {
  int fd;
  const char *tag;
  size_t len;
  char *buf; /* READ_BUF bytes, allocated lazily */
};

static void flush_partial(struct stream *s) {
  if (s->len) log_record(s->tag, 1, s->buf, s->len);
  s->len = 0;
}

static void stream_eof(struct stream *s) {
  flush_partial(s);
  close(s->fd);
  s->fd = -1;
}

/* One read; complete lines are logged as F records, a pending line of MAX_LINE or more as a P record.
 * Returns 1 when data was read, 0 otherwise (EOF, EAGAIN, error). */
static int pump(struct stream *s) {
  if (!s->buf && !(s->buf = malloc(READ_BUF))) return 0;
  ssize_t n = read(s->fd, s->buf + s->len, READ_BUF - s->len);
  if (n < 0) {
    if (errno == EINTR) return 1;
    if (errno == EAGAIN) return 0;
    n = 0;
  }
  if (n == 0) {
    stream_eof(s);
    return 0;
  }
  s->len += (size_t)n;
  size_t start = 0;
  char *nl;
  while ((nl = memchr(s->buf + start, '\n', s->len - start))) {
    log_record(s->tag, 0, s->buf + start, (size_t)(nl - (s->buf + start)));
    start = (size_t)(nl - s->buf) + 1;
  }
  size_t rest = s->len - start;
  if (rest >= MAX_LINE) {
    log_record(s->tag, 1, s->buf + start, rest);
    rest = 0;
  }
  memmove(s->buf, s->buf + start, rest);
  s->len = rest;
  return 1;
}

/* ---- runc's error text ---- */

/* The "msg" of the last "level":"error" record in runc's JSON log, unescaped, or "" . */
static void json_error_msg(const char *log, char *out, size_t cap) {
  out[0] = 0;
  const char *line = log;
  while (line && *line) {
    const char *end = strchr(line, '\n');
    const char *lvl = strstr(line, "\"level\":\"error\"");
    const char *m = strstr(line, "\"msg\":\"");
    if (lvl && m && (!end || (lvl < end && m < end))) {
      size_t o = 0;
      for (const char *p = m + 7; *p && *p != '"' && p != end && o + 1 < cap; p++) {
        char c = *p;
        if (c == '\\' && p[1]) {
          c = *++p;
          if (c == 'n') c = '\n';
          else if (c == 't') c = '\t';
          else if (c == 'u') {
            unsigned v = 0;
            int k;
            for (k = 0; k < 4 && p[1]; k++) {
              char h = *++p;
              v = v * 16 + (unsigned)(h >= 'a' ? h - 'a' + 10 : h >= 'A' ? h - 'A' + 10 : h - '0');
            }
            c = v < 0x80 ? (char)v : '?';
          }
        }
        out[o++] = c;
      }
      out[o] = 0;
    }
    line = end ? end + 1 : NULL;
  }
}

static void trim(char *s) {
  size_t n = strlen(s);
  while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' ' || s[n - 1] == '\r' || s[n - 1] == '\t')) s[--n] = 0;
}

/* ---- the daemon ---- */
static void report(int fd, const char *kind, const char *text) {
  write_all(fd, kind, strlen(kind));
  write_all(fd, text, strlen(text));
  close(fd);
}

static void write_exit_file(int status) {
  int code = 255, sig = 0;
  if (WIFEXITED(status)) code = WEXITSTATUS(status);
  else if (WIFSIGNALED(status)) {
    sig = WTERMSIG(status);
    code = 128 + sig;
  }
  char ts[40], body[128];
  timestamp(ts, sizeof ts, 0);
  int n = snprintf(body, sizeof body, "{\"exitCode\":%d,\"signal\":%d,\"finishedAt\":\"%s\"}\n", code, sig, ts);
  size_t pl = strlen(o_exit) + 5;
  char *tmp = malloc(pl);
  if (!tmp) return;
  snprintf(tmp, pl, "%s.tmp", o_exit);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0644);
  if (fd >= 0) {
    int ok = write_all(fd, body, (size_t)n) == 0 && fsync(fd) == 0;
    close(fd);
    if (ok && rename(tmp, o_exit) == 0) {
      char *dir = xstrdup(o_exit), *slash = strrchr(dir, '/');
      if (slash) *(slash == dir ? slash + 1 : slash) = 0;
      int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
      }
      free(dir);
    } else {
      unlink(tmp);
    }
  }
  free(tmp);
}

static int read_pid_file(void) {
  int fd = open(o_pid, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  char b[32];
  ssize_t n;
  do n = read(fd, b, sizeof b - 1);
  while (n < 0 && errno == EINTR);
  close(fd);
  if (n <= 0) return -1;
  b[n] = 0;
  char *end;
  long v = strtol(b, &end, 10);
  return v > 0 && v <= INT_MAX && (*end == 0 || *end == '\n') ? (int)v : -1;
}

/* Default action for every signal, none blocked. */
static void reset_signals(void) {
  for (int sig = 1; sig < 65; sig++)
    if (sig != SIGKILL && sig != SIGSTOP) signal(sig, SIG_DFL); /* EINVAL for libc-reserved ones: fine */
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
}

static void set_nonblock(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

static void daemon_main(int rep, mode_t old_umask) {
  char msg[ERR_MAX + 64];
  setsid();
  prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  reset_signals(); /* whatever nanolet ignored (an ignored SIGCHLD would lose exit statuses) */
  signal(SIGTERM, SIG_IGN);
  signal(SIGHUP, SIG_IGN);
  signal(SIGINT, SIG_IGN);
  signal(SIGPIPE, SIG_IGN);
  if (chdir("/") != 0) { /* cannot happen; the paths are absolute anyway */
  }
  /* Hold none of nanolet's stdio: its reader sees EOF when the original process exits. */
  int null = open("/dev/null", O_RDWR | O_NOCTTY);
  if (null < 0) {
    snprintf(msg, sizeof msg, "open /dev/null: %s", strerror(errno));
    report(rep, "E", msg);
    _exit(1);
  }
  dup2(null, 0);
  dup2(null, 1);
  dup2(null, 2);
  if (null > 2) close(null);

  if (open_log() != 0) {
    snprintf(msg, sizeof msg, "open log %s: %s", o_log, strerror(errno));
    report(rep, "E", msg);
    _exit(1);
  }
  int out[2], err[2];
  int runc_log = (int)syscall(SYS_memfd_create, "runc-log", 1U /* MFD_CLOEXEC */);
  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0 || runc_log < 0) {
    snprintf(msg, sizeof msg, "pipe: %s", strerror(errno));
    report(rep, "E", msg);
    _exit(1);
  }
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_SETMASK, &chld, NULL);
  int sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);

  char log_arg[40];
  snprintf(log_arg, sizeof log_arg, "/proc/self/fd/%d", runc_log);
  pid_t runc = fork();
  if (runc == 0) {
    /* runc and, through it, the container: default signal dispositions and mask, nanolet's umask. */
    dup2(out[1], 1);
    dup2(err[1], 2);
    fcntl(runc_log, F_SETFD, 0);
    reset_signals();
    umask(old_umask);
    const char *create[] = {o_runc, "--root", o_root, "--log", log_arg, "--log-format", "json", "create",
                            "--bundle", o_bundle, "--pid-file", o_pid, o_id, NULL};
    const char *run[] = {o_runc, "--root", o_root, "--log", log_arg, "--log-format", "json", "run", "--detach",
                         "--bundle", o_bundle, "--pid-file", o_pid, o_id, NULL};
    execvp(o_runc, (char *const *)(o_start ? run : create));
    dprintf(2, "exec %s: %s\n", o_runc, strerror(errno));
    _exit(127);
  }
  int fork_errno = errno;
  close(out[1]);
  close(err[1]);
  if (runc < 0) {
    snprintf(msg, sizeof msg, "fork: %s", strerror(fork_errno));
    report(rep, "E", msg);
    _exit(1);
  }
  int st = 0, runc_timed_out = 0;
  long long runc_deadline = now_ns() + RUNC_TIMEOUT_NS;
  for (;;) {
    pid_t w = waitpid(runc, &st, WNOHANG);
    if (w == runc) break;
    if (w < 0 && errno != EINTR) {
      st = 255 << 8; /* cannot happen: SIGCHLD has its default action */
      break;
    }
    long long left = runc_deadline - now_ns();
    if (left <= 0) {
      kill(runc, SIGKILL);
      while (waitpid(runc, &st, 0) < 0 && errno == EINTR) {
      }
      runc_timed_out = 1;
      break;
    }
    struct pollfd pf = {sfd, POLLIN, 0};
    poll(&pf, 1, left > 1000000000LL ? 1000 : (int)(left / 1000000) + 1);
    struct signalfd_siginfo si;
    while (read(sfd, &si, sizeof si) > 0) {
    }
  }
  raise(SIGCHLD); /* (blocked: pending) the loop below reaps whatever the drained signals announced */
  int init_pid = -1;
  if (!runc_timed_out && WIFEXITED(st) && WEXITSTATUS(st) == 0) init_pid = read_pid_file();
  if (init_pid <= 0) {
    /* runc's error: what it printed on stderr (the err pipe), else its JSON log, else the exit status. */
    char text[ERR_MAX + 1];
    set_nonblock(err[0]);
    ssize_t n, got = 0;
    while (got < ERR_MAX && ((n = read(err[0], text + got, (size_t)(ERR_MAX - got))) > 0 || (n < 0 && errno == EINTR)))
      if (n > 0) got += n;
    text[got] = 0;
    trim(text);
    if (!text[0]) {
      char lb[8192];
      ssize_t ln = pread(runc_log, lb, sizeof lb - 1, 0);
      lb[ln > 0 ? ln : 0] = 0;
      json_error_msg(lb, text, sizeof text);
      trim(text);
    }
    if (runc_timed_out)
      snprintf(msg, sizeof msg, "runc %s timed out after %llds (killed)%s%s", o_start ? "run" : "create",
               RUNC_TIMEOUT_NS / 1000000000LL, text[0] ? ": " : "", text);
    else if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
      snprintf(msg, sizeof msg, "runc %s succeeded but pid file %s is unreadable", o_start ? "run" : "create", o_pid);
    else if (text[0])
      snprintf(msg, sizeof msg, "%s", text);
    else if (WIFSIGNALED(st))
      snprintf(msg, sizeof msg, "runc %s killed by signal %d", o_start ? "run" : "create", WTERMSIG(st));
    else
      snprintf(msg, sizeof msg, "runc %s failed: exit status %d", o_start ? "run" : "create", WEXITSTATUS(st));
    report(rep, "E", msg);
    _exit(1);
  }
  close(runc_log);
  snprintf(msg, sizeof msg, "%d", init_pid);
  report(rep, "P", msg);

  struct stream streams[2] = {{out[0], "stdout", 0, NULL}, {err[0], "stderr", 0, NULL}};
  int status = 0, exited = 0;
  while (!exited) {
    struct pollfd p[3];
    struct stream *ps[3];
    int n = 0;
    for (int i = 0; i < 2; i++)
      if (streams[i].fd >= 0) {
        p[n] = (struct pollfd){streams[i].fd, POLLIN, 0};
        ps[n++] = &streams[i];
      }
    p[n] = (struct pollfd){sfd, POLLIN, 0};
    ps[n++] = NULL;
    /* A pending partial line (a prompt, a progress bar) is logged as P once its stream has been quiet a while. */
    int pending = streams[0].len || streams[1].len;
    int r = poll(p, (nfds_t)n, pending ? PARTIAL_IDLE_MS : -1);
    if (r == 0) {
      flush_partial(&streams[0]);
      flush_partial(&streams[1]);
      continue;
    }
    if (r < 0) continue; /* EINTR */
    for (int i = 0; i < n; i++) {
      if (!p[i].revents) continue;
      if (ps[i]) {
        pump(ps[i]);
      } else {
        struct signalfd_siginfo si;
        while (read(sfd, &si, sizeof si) > 0) {
        }
      }
    }
    /* Reap every child (orphans of the container land here too); stop when the init is among them. */
    for (;;) {
      int ws;
      pid_t w = waitpid(-1, &ws, WNOHANG);
      if (w == init_pid) {
        status = ws;
        exited = 1;
      } else if (w < 0 && errno == ECHILD) {
        /* No child left. Unless the init was just reaped, it is not our child (cannot happen as a subreaper):
         * there is nothing to wait for and its status is unknown (255). */
        if (!exited) status = 255 << 8;
        exited = 1;
        break;
      } else if (w <= 0 && !(w < 0 && errno == EINTR)) {
        break;
      }
    }
  }
  /* Drain what the container wrote before it died (bounded: something else may still hold the pipes). */
  long long deadline = now_ns() + DRAIN_NS;
  for (int i = 0; i < 2; i++) {
    if (streams[i].fd < 0) continue;
    set_nonblock(streams[i].fd);
    while (streams[i].fd >= 0 && pump(&streams[i]) && now_ns() < deadline) {
    }
    flush_partial(&streams[i]);
  }
  write_exit_file(status);
  _exit(0);
}

static void usage(void) {
  dprintf(2,
          "usage: %s --runc PATH --runc-root DIR --id ID --bundle DIR --log PATH --exit-file PATH --pid-file PATH\n"
          "       [--log-max-size BYTES (10485760)] [--log-max-files N (5)] [--start]\n",
          prog);
  exit(1);
}

int main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN);
  close_inherited_fds();
  /* Started with stdin/stdout/stderr closed? Fill the gaps so our own fds are never 0-2. */
  int fill;
  while ((fill = open("/dev/null", O_RDWR | O_NOCTTY)) >= 0 && fill <= 2) {
  }
  if (fill > 2) close(fill);
  const char *max_size = NULL, *max_files = NULL;
  struct {
    const char *name;
    const char **dst;
  } flags[] = {{"runc", &o_runc},       {"runc-root", &o_root},         {"id", &o_id},
               {"bundle", &o_bundle},   {"log", &o_log},                {"exit-file", &o_exit},
               {"pid-file", &o_pid},    {"log-max-size", &max_size},    {"log-max-files", &max_files}};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) usage();
    if (strcmp(a, "--start") == 0) {
      o_start = 1;
      continue;
    }
    if (strncmp(a, "--", 2) != 0) die("unexpected argument %s%s", a, "");
    a += 2;
    const char *eq = strchr(a, '=');
    size_t nl = eq ? (size_t)(eq - a) : strlen(a);
    size_t f;
    for (f = 0; f < sizeof flags / sizeof flags[0]; f++)
      if (strlen(flags[f].name) == nl && strncmp(flags[f].name, a, nl) == 0) break;
    if (f == sizeof flags / sizeof flags[0]) die("unknown flag %s%s", argv[i], "");
    if (eq) *flags[f].dst = eq + 1;
    else if (i + 1 < argc) *flags[f].dst = argv[++i];
    else die("flag %s needs a value%s", argv[i], "");
  }
  for (size_t f = 0; f < 7; f++)
    if (!*flags[f].dst || !**flags[f].dst) die("missing --%s%s", flags[f].name, "");
  char *end;
  if (max_size) {
    o_max_size = strtoll(max_size, &end, 10);
    if (*end || o_max_size <= 0) die("invalid --log-max-size %s%s", max_size, "");
  }
  if (max_files) {
    o_max_files = strtol(max_files, &end, 10);
    if (*end || o_max_files <= 0) die("invalid --log-max-files %s%s", max_files, "");
  }
  if (strchr(o_runc, '/')) o_runc = absolute(o_runc);
  o_root = absolute(o_root);
  o_bundle = absolute(o_bundle);
  o_log = absolute(o_log);
  o_exit = absolute(o_exit);
  o_pid = absolute(o_pid);
  log_dir = xstrdup(o_log);
  char *slash = strrchr(log_dir, '/');
  *(slash == log_dir ? slash + 1 : slash) = 0;
  log_base = strrchr(o_log, '/') + 1;

  int rep[2];
  if (pipe2(rep, O_CLOEXEC) != 0) die("pipe: %s%s", strerror(errno), "");
  mode_t old_umask = umask(027);
  pid_t d = fork();
  if (d < 0) die("fork: %s%s", strerror(errno), "");
  if (d == 0) {
    close(rep[0]);
    daemon_main(rep[1], old_umask);
  }
  close(rep[1]);
  char buf[ERR_MAX + 80];
  size_t got = 0;
  ssize_t n;
  while (got < sizeof buf - 1 && ((n = read(rep[0], buf + got, sizeof buf - 1 - got)) > 0 || (n < 0 && errno == EINTR)))
    if (n > 0) got += (size_t)n;
  buf[got] = 0;
  if (got > 1 && buf[0] == 'P') {
    dprintf(1, "%s\n", buf + 1);
    return 0;
  }
  /* Failure: the daemon has reported (or died); make sure it is gone before we return. */
  while (waitpid(d, NULL, 0) < 0 && errno == EINTR) {
  }
  if (got > 1 && buf[0] == 'E')
    dprintf(2, "%s\n", buf + 1);
  else
    dprintf(2, "%s: monitor daemon exited before reporting\n", prog);
  return 1;
}
