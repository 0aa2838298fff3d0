// The floor for bench/probes.sh: the least a process can spend on httpGet probes over TCP, one connection
// per probe as the kubelet makes them (connect, GET with Connection: close, read to EOF, close), with
// blocking sockets and nothing else. RATE probes per second for SECONDS, round-robin over the IPs, BATCH
// at a time back to back (nanolet runs the probes due in the same 100 ms slot together: BATCH = RATE / 10
// compares like with like; 1 is one wake-up per probe).
// Prints "ok N of M, cpu P% (user U%, system S%)": its own CPU time over the window, one core = 100 %.
// Usage: probe_floor PORT PATH RATE SECONDS BATCH IP...
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc < 7) {
    fprintf(stderr, "usage: %s PORT PATH RATE SECONDS BATCH IP...\n", argv[0]);
    return 2;
  }
  int port = atoi(argv[1]), rate = atoi(argv[3]), secs = atoi(argv[4]), batch = atoi(argv[5]);
  const char* path = argv[2];
  int nips = argc - 6, ok = 0, total = rate * secs;
  if (rate < 1 || secs < 1 || batch < 1) return 2;
  char buf[16384];
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (int i = 0; i < total; i++) {
    long long at = (long long)(i / batch * batch) * 1000000000LL / rate;
    struct timespec next = {t0.tv_sec + (time_t)(at / 1000000000LL), t0.tv_nsec + (long)(at % 1000000000LL)};
    if (next.tv_nsec >= 1000000000L) {
      next.tv_sec++;
      next.tv_nsec -= 1000000000L;
    }
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
    const char* ip = argv[6 + i % nips];
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)port);
    if (inet_pton(AF_INET, ip, &a.sin_addr) != 1) return 2;
    char req[512];
    int len = snprintf(req, sizeof req,
                       "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUser-Agent: kube-probe/1.31\r\nAccept: */*\r\n"
                       "Connection: close\r\n\r\n",
                       path, ip, port);
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0) return 1;
    if (connect(s, (struct sockaddr*)&a, sizeof a) == 0 && write(s, req, (size_t)len) == len) {
      ssize_t n, got = 0;
      while ((n = read(s, buf + (got < 16 ? got : 16), sizeof buf - 16)) > 0) got += n;
      if (got >= 12 && buf[9] >= '2' && buf[9] <= '3') ok++;
    }
    close(s);
  }
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  double u = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
  double sy = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
  printf("ok %d of %d, cpu %.2f%% (user %.2f%%, system %.2f%%)\n", ok, total, 100 * (u + sy) / secs,
         100 * u / secs, 100 * sy / secs);
  return ok == total ? 0 : 1;
}
