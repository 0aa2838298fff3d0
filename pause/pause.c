/* nanolet-pause: PID 1 of a pod's infrastructure container.
 *
 * Behaves like the upstream Kubernetes pause program: it sleeps in pause(2) forever, exits 0 on SIGINT or
 * SIGTERM, and reaps every zombie it inherits on SIGCHLD (it is the init of the pod's shared PID namespace).
 * Other signals keep their default action, as upstream.
 *
 * No libc: raw x86_64 Linux system calls, so the static binary is a few hundred bytes. Handlers that return
 * (SIGCHLD) need a signal-return trampoline: without libc we pass our own through SA_RESTORER. */
#if !defined(__x86_64__) || !defined(__linux__)
#error "nanolet-pause is written for x86_64 Linux"
#endif

#define SYS_rt_sigaction 13
#define SYS_rt_sigreturn 15
#define SYS_pause 34
#define SYS_wait4 61
#define SYS_exit_group 231

#define SIGINT 2
#define SIGTERM 15
#define SIGCHLD 17
#define SA_NOCLDSTOP 0x00000001UL
#define SA_RESTORER 0x04000000UL
#define WNOHANG 1

/* The kernel's struct sigaction on x86_64 (not libc's): handler, flags, restorer, 64-bit mask. */
struct kernel_sigaction {
  void (*handler)(int);
  unsigned long flags;
  void (*restorer)(void);
  unsigned long mask;
};

static inline long syscall1(long n, long a) {
  long ret;
  __asm__ volatile("syscall" : "=a"(ret) : "a"(n), "D"(a) : "rcx", "r11", "memory");
  return ret;
}

static inline long syscall4(long n, long a, long b, long c, long d) {
  long ret;
  register long r10 __asm__("r10") = d;
  __asm__ volatile("syscall" : "=a"(ret) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10) : "rcx", "r11", "memory");
  return ret;
}

/* Entry point and signal trampoline. The kernel enters _start with %rsp 16-byte aligned; the call keeps the
 * ABI's alignment for the C code. The restorer runs on return from a handler with %rsp at the signal frame:
 * it must not touch the stack, only ask the kernel to restore the interrupted context. */
__asm__(
    ".text\n"
    ".globl _start\n"
    "_start:\n"
    "  xor %ebp, %ebp\n"
    "  and $-16, %rsp\n"
    "  call pause_main\n"
    "restore_rt:\n"
    "  mov $15, %eax\n" /* SYS_rt_sigreturn */
    "  syscall\n"
    "  hlt\n");

void restore_rt(void);
void pause_main(void) __attribute__((noreturn, used));

static void sigdown(int signo) {
  (void)signo;
  syscall1(SYS_exit_group, 0);
}

static void sigreap(int signo) {
  (void)signo;
  /* wait4(-1, NULL, WNOHANG, NULL) until no zombie is left (0) or no child at all (-ECHILD). */
  while (syscall4(SYS_wait4, -1, 0, WNOHANG, 0) > 0) {
  }
}

static void handle(int sig, void (*fn)(int), unsigned long flags) {
  /* Block SIGINT/SIGTERM/SIGCHLD while any handler runs. */
  struct kernel_sigaction sa = {fn, flags | SA_RESTORER, restore_rt,
                                (1UL << (SIGINT - 1)) | (1UL << (SIGTERM - 1)) | (1UL << (SIGCHLD - 1))};
  syscall4(SYS_rt_sigaction, sig, (long)&sa, 0, sizeof sa.mask);
}

void pause_main(void) {
  handle(SIGINT, sigdown, 0);
  handle(SIGTERM, sigdown, 0);
  handle(SIGCHLD, sigreap, SA_NOCLDSTOP);
  /* Zombies inherited before the handler was installed raised no SIGCHLD we could see: reap them now. */
  sigreap(0);
  for (;;) syscall1(SYS_pause, 0);
}
