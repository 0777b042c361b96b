// The C baseline of every workload: the same work as bench/runners/ours.js, done with the
// plain calls. Built with `cc -O2` into bench/.build by bench/lib/setup.js in the same run.
//
// Usage: bench <workload> <json-free positional args...>
// Prints one line of JSON: {"samples":[...], ...}. Units are the workload's (see bench/workloads.js).
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096
// Calls before a batched measurement starts (as bench/runners/ours.js).
#define WARM_CALLS 10000

static void die(const char *what) {
  fprintf(stderr, "bench.c: %s: %s\n", what, strerror(errno));
  exit(1);
}

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static long minflt(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_minflt;
}

// Keeps the compiler from dropping stores to memory it cannot see being read.
static inline void clobber(void) { __asm__ volatile("" ::: "memory"); }

static void print_samples(const char *key, const double *v, int n, int last) {
  printf("\"%s\":[", key);
  for (int i = 0; i < n; i++) printf(i ? ",%.6g" : "%.6g", v[i]);
  printf("]%s", last ? "" : ",");
}

// ---- memory sources: a System V segment or a MAP_SHARED mapping of a file ------------------

struct shared {
  unsigned char *p;
  size_t size;
  int sysv;
};

// A fresh segment, marked for removal at once so nothing outlives this process.
static struct shared open_sysv(size_t size) {
  int id = shmget(IPC_PRIVATE, size, IPC_CREAT | 0600);
  if (id < 0) die("shmget");
  void *p = shmat(id, NULL, 0);
  if (p == (void *)-1) die("shmat");
  if (shmctl(id, IPC_RMID, NULL) != 0) die("shmctl");
  return (struct shared){p, size, 1};
}

// A file of `size` bytes at `path`, mapped shared, unlinked at once (the mapping keeps it).
static struct shared open_file(const char *path, size_t size) {
  int fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
  if (fd < 0) die("open");
  if (ftruncate(fd, (off_t)size) != 0) die("ftruncate");
  void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) die("mmap");
  close(fd);
  unlink(path);
  return (struct shared){p, size, 0};
}

static void close_shared(struct shared s) {
  if (s.sysv) shmdt(s.p);
  else munmap(s.p, s.size);
}

static struct shared open_target(const char *kind, const char *path, size_t size) {
  return strcmp(kind, "sysv") == 0 ? open_sysv(size) : open_file(path, size);
}

// ---- 1. bulk write (memset) and bulk copy-in (memcpy), GB/s --------------------------------

static int bulk(int copy, const char *kind, const char *path, size_t size, int reps) {
  struct shared s = open_target(kind, path, size);
  unsigned char *src = NULL;
  if (copy) {
    src = malloc(size);
    if (!src) die("malloc");
    memset(src, 0x5a, size);  // real pages, not the shared zero page
  }
  double *gbs = calloc(reps, sizeof *gbs);
  unsigned long check = 0;
  // Rep 0 is the warm-up: it faults the pages in; only later reps are reported.
  for (int r = 0; r <= reps; r++) {
    int value = (r & 0x7f) | 1;
    if (copy) src[r] = (unsigned char)value;
    double t0 = now_ns();
    if (copy) memcpy(s.p, src, size);
    else memset(s.p, value, size);
    clobber();
    double t1 = now_ns();
    check += s.p[r] + s.p[size - 1];
    if (r > 0) gbs[r - 1] = (double)size / (t1 - t0);  // bytes per ns == GB/s
  }
  printf("{");
  print_samples("samples", gbs, reps, 0);
  printf("\"check\":%lu}\n", check);
  free(src);
  close_shared(s);
  return 0;
}

// ---- 2. first touch of a fresh segment: ns per page and faults per page ---------------------

static int touch(size_t size, int reps) {
  double *ns = calloc(reps, sizeof *ns), *faults = calloc(reps, sizeof *faults);
  size_t pages = size / PAGE;
  unsigned long check = 0;
  for (int r = 0; r <= reps; r++) {
    // Rep 0 warms up the code path (and the kernel's page allocator) and is not reported.
    struct shared s = open_sysv(size);
    volatile unsigned char *p = s.p;
    long f0 = minflt();
    double t0 = now_ns();
    for (size_t i = 0; i < pages; i++) p[i * PAGE] = 1;
    double t1 = now_ns();
    long f1 = minflt();
    check += p[size - PAGE];
    if (r > 0) {
      ns[r - 1] = (t1 - t0) / (double)pages;
      faults[r - 1] = (double)(f1 - f0) / (double)pages;
    }
    close_shared(s);
  }
  printf("{");
  print_samples("samples", ns, reps, 0);
  print_samples("faults", faults, reps, 0);
  printf("\"check\":%lu}\n", check);
  return 0;
}

// ---- 3. cycles: segment create/attach/detach/remove; mmap/munmap of one page, µs per cycle --

static int segcycle(int cycles, int batches) {
  double *us = calloc(batches, sizeof *us);
  unsigned long check = 0;
  for (int b = 0; b <= batches; b++) {
    double t0 = now_ns();
    for (int i = 0; i < cycles; i++) {
      int id = shmget(IPC_PRIVATE, PAGE, IPC_CREAT | 0600);
      if (id < 0) die("shmget");
      void *p = shmat(id, NULL, 0);
      if (p == (void *)-1) die("shmat");
      check += (uintptr_t)p >> 12;
      if (shmdt(p) != 0) die("shmdt");
      if (shmctl(id, IPC_RMID, NULL) != 0) die("shmctl");
    }
    double t1 = now_ns();
    if (b > 0) us[b - 1] = (t1 - t0) / 1e3 / cycles;
  }
  printf("{");
  print_samples("samples", us, batches, 0);
  printf("\"check\":%lu}\n", check);
  return 0;
}

static int mmapcycle(const char *kind, const char *path, int cycles, int batches) {
  int fd = -1, flags = MAP_SHARED | MAP_ANONYMOUS;
  if (strcmp(kind, "file") == 0) {
    fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
    if (fd < 0) die("open");
    if (ftruncate(fd, PAGE) != 0) die("ftruncate");
    unlink(path);
    flags = MAP_SHARED;
  }
  double *us = calloc(batches, sizeof *us);
  unsigned long check = 0;
  for (int b = 0; b <= batches; b++) {
    double t0 = now_ns();
    for (int i = 0; i < cycles; i++) {
      void *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, flags, fd, 0);
      if (p == MAP_FAILED) die("mmap");
      check += (uintptr_t)p >> 12;
      if (munmap(p, PAGE) != 0) die("munmap");
    }
    double t1 = now_ns();
    if (b > 0) us[b - 1] = (t1 - t0) / 1e3 / cycles;
  }
  if (fd >= 0) close(fd);
  printf("{");
  print_samples("samples", us, batches, 0);
  printf("\"check\":%lu}\n", check);
  return 0;
}

// ---- 4. msync(MS_SYNC) of one dirty page, µs per call ---------------------------------------
// batch > 1 times `batch` calls (each after dirtying the page) as one sample, divided: for calls
// as quick as a clock read (tmpfs), so the timer's own cost does not decide the comparison.

static int msync_lat(const char *path, int samples, int batch) {
  struct shared s = open_file(path, PAGE);
  double *us = calloc(samples, sizeof *us);
  if (batch < 1) batch = 1;
  // The first tenth is warm-up; with batches at least WARM_CALLS calls, as every runner does
  // (the JIT of the Node runners tiers up over thousands of calls).
  int warm = samples / 10;
  if (batch > 1 && warm < (WARM_CALLS + batch - 1) / batch) warm = (WARM_CALLS + batch - 1) / batch;
  for (int i = -warm; i < samples; i++) {
    double t0 = 0;
    if (batch == 1) {
      s.p[i & 0xff] = (unsigned char)i;  // dirty the page (not timed)
      t0 = now_ns();
      if (msync(s.p, PAGE, MS_SYNC) != 0) die("msync");
    } else {
      t0 = now_ns();
      for (int k = 0; k < batch; k++) {
        s.p[k & 0xff] = (unsigned char)(i + k);  // dirty the page (a store, timed alike everywhere)
        if (msync(s.p, PAGE, MS_SYNC) != 0) die("msync");
      }
    }
    double t1 = now_ns();
    if (i >= 0) us[i] = (t1 - t0) / 1e3 / batch;
  }
  printf("{");
  print_samples("samples", us, samples, 1);
  printf("}\n");
  close_shared(s);
  return 0;
}

// ---- 5. ping-pong between two processes: futex word in shared memory; a pipe for scale ------

// Round trips per second in windows of 100 ms (the first window is warm-up): one sample each.
#define WINDOW_NS 1e8
struct windows {
  double start, end, window_start;
  long trips, in_window;
  int n;
  double rate[256];
};

static struct windows windows_start(double seconds) {
  struct windows w = {0};
  w.start = w.window_start = now_ns();
  w.end = w.start + (seconds + WINDOW_NS / 1e9) * 1e9;
  return w;
}

// Counts `trips` more; closes a window when 100 ms have passed. Returns 0 when time is up.
static int windows_tick(struct windows *w, long trips) {
  w->trips += trips;
  w->in_window += trips;
  double t = now_ns();
  if (t - w->window_start >= WINDOW_NS) {
    if (w->window_start > w->start && w->n < 256) w->rate[w->n++] = w->in_window / ((t - w->window_start) / 1e9);
    w->window_start = t;
    w->in_window = 0;
  }
  return t < w->end;
}

static void windows_print(struct windows *w) {
  printf("{");
  print_samples("samples", w->rate, w->n, 0);
  printf("\"trips\":%ld}\n", w->trips);
}

static long futex(atomic_int *word, int op, int val) {
  return syscall(SYS_futex, word, op, val, NULL, NULL, 0);
}

// Waits until *word != seen (the futex wait/notify idiom the library's primitive wraps),
// counted in *waiters while it sleeps: SharedWord's { waitersAt } protocol.
static int wait_change(atomic_int *word, atomic_int *waiters, int seen) {
  int v = atomic_load(word);
  if (v != seen) return v;
  atomic_fetch_add(waiters, 1);
  while ((v = atomic_load(word)) == seen) futex(word, FUTEX_WAIT, seen);
  atomic_fetch_sub(waiters, 1);
  return v;
}

// Stores v and wakes a sleeper, if one counted itself (a wake with nobody asleep is skipped).
static void hand_over(atomic_int *word, atomic_int *waiters, int v) {
  atomic_store(word, v);
  if (atomic_load(waiters) != 0) futex(word, FUTEX_WAKE, 1);
}

static int pingpong_futex(double seconds) {
  // A System V segment, like the library's ping-pong: removed at once, inherited by fork. The
  // token at offset 0, its waiter count at offset 8 (as bench/runners/pingpong-ours.js).
  struct shared s = open_sysv(PAGE);
  atomic_int *word = (atomic_int *)s.p;
  atomic_int *waiters = (atomic_int *)s.p + 2;
  atomic_store(word, 0);
  atomic_store(waiters, 0);
  pid_t child = fork();
  if (child < 0) die("fork");
  if (child == 0) {
    // Child: answer every odd value v with v+1; -1 ends.
    int seen = 0;
    for (;;) {
      int v = wait_change(word, waiters, seen);
      if (v < 0) _exit(0);
      seen = v + 1;
      hand_over(word, waiters, seen);
    }
  }
  int v = 0;
  struct windows w = windows_start(seconds);
  do {
    for (int k = 0; k < 64; k++) {
      hand_over(word, waiters, v + 1);
      v = wait_change(word, waiters, v + 1);
    }
  } while (windows_tick(&w, 64));
  hand_over(word, waiters, -1);
  waitpid(child, NULL, 0);
  close_shared(s);
  windows_print(&w);
  return 0;
}

static int pingpong_pipe(double seconds) {
  int there[2], back[2];
  if (pipe(there) != 0 || pipe(back) != 0) die("pipe");
  pid_t child = fork();
  if (child < 0) die("fork");
  char c = 0;
  if (child == 0) {
    close(there[1]);
    close(back[0]);
    while (read(there[0], &c, 1) == 1) {
      if (write(back[1], &c, 1) != 1) break;
    }
    _exit(0);
  }
  close(there[0]);
  close(back[1]);
  struct windows w = windows_start(seconds);
  do {
    for (int k = 0; k < 64; k++) {
      c++;
      if (write(there[1], &c, 1) != 1) die("write");
      if (read(back[0], &c, 1) != 1) die("read");
    }
  } while (windows_tick(&w, 64));
  close(there[1]);
  waitpid(child, NULL, 0);
  windows_print(&w);
  return 0;
}

// The ping-pong's two syscalls alone, for bench/breakdown.js: a wake with nobody waiting, and
// a wait that returns at once (EAGAIN) because the value differs. µs per call.
static int futex_steps(int n) {
  atomic_int word = 1;
  double t0 = now_ns();
  for (int i = 0; i < n; i++) futex(&word, FUTEX_WAKE, 1);
  double t1 = now_ns();
  for (int i = 0; i < n; i++) futex(&word, FUTEX_WAIT, 0);
  double t2 = now_ns();
  printf("{\"wake\":%.4f,\"waitNotEqual\":%.4f}\n", (t1 - t0) / 1e3 / n, (t2 - t1) / 1e3 / n);
  return 0;
}

int main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN);
  if (argc < 2) {
    fprintf(stderr, "usage: bench <workload> args...\n");
    return 2;
  }
  const char *w = argv[1];
#define ARG(i) (argc > (i) ? argv[i] : "")
  if (strcmp(w, "fill") == 0) return bulk(0, ARG(2), ARG(3), strtoull(ARG(4), 0, 10), atoi(ARG(5)));
  if (strcmp(w, "copy") == 0) return bulk(1, ARG(2), ARG(3), strtoull(ARG(4), 0, 10), atoi(ARG(5)));
  if (strcmp(w, "touch") == 0) return touch(strtoull(ARG(2), 0, 10), atoi(ARG(3)));
  if (strcmp(w, "segcycle") == 0) return segcycle(atoi(ARG(2)), atoi(ARG(3)));
  if (strcmp(w, "mmapcycle") == 0) return mmapcycle(ARG(2), ARG(3), atoi(ARG(4)), atoi(ARG(5)));
  if (strcmp(w, "msync") == 0) return msync_lat(ARG(2), atoi(ARG(3)), atoi(ARG(4)));
  if (strcmp(w, "pingpong-futex") == 0) return pingpong_futex(atof(ARG(2)));
  if (strcmp(w, "futex-steps") == 0) return futex_steps(atoi(ARG(2)));
  if (strcmp(w, "pingpong-pipe") == 0) return pingpong_pipe(atof(ARG(2)));
  fprintf(stderr, "bench.c: unknown workload %s\n", w);
  return 2;
}
