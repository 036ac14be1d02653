// Baseline for the mutex handoff benchmark: the best one-way wake-up a process can
// get from another on this machine, a raw shared futex ping-pong in C, paced
// exactly like bench/children/handoff.ts: the side holding the turn waits until
// the other side is parked in futex_wait, lets it sleep 200 us (so both measure
// the wake of a sleeping process, not a spin), stamps CLOCK_MONOTONIC, flips the
// turn word and wakes it; the woken side records how long that took.
// Prints one latency (ns) a line.
#define _GNU_SOURCE
#include <linux/futex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct shared {
  uint32_t turn;
  uint32_t waiting[2];
  int64_t stamp;
  int64_t lat[2][100000];
};

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void run(struct shared* s, int me, int rounds) {
  uint32_t mine = (uint32_t)me, other = (uint32_t)(1 - me);
  int n = 0;
  for (int i = 0; i < rounds; i++) {
    if (__atomic_load_n(&s->turn, __ATOMIC_ACQUIRE) == mine) {
      while (!__atomic_load_n(&s->waiting[other], __ATOMIC_ACQUIRE)) {
      }
      int64_t until = now_ns() + 200000;
      while (now_ns() < until) {
      }
      __atomic_store_n(&s->stamp, now_ns(), __ATOMIC_RELEASE);
      __atomic_store_n(&s->turn, other, __ATOMIC_RELEASE);
      syscall(SYS_futex, &s->turn, FUTEX_WAKE, 1, NULL, NULL, 0);
      while (__atomic_load_n(&s->waiting[other], __ATOMIC_ACQUIRE)) {
      }
    } else {
      __atomic_store_n(&s->waiting[me], 1, __ATOMIC_RELEASE);
      while (__atomic_load_n(&s->turn, __ATOMIC_ACQUIRE) != mine)
        syscall(SYS_futex, &s->turn, FUTEX_WAIT, other, NULL, NULL, 0);
      s->lat[me][n++] = now_ns() - __atomic_load_n(&s->stamp, __ATOMIC_ACQUIRE);
      __atomic_store_n(&s->waiting[me], 0, __ATOMIC_RELEASE);
    }
  }
  s->lat[me][n] = -1;
}

int main(int argc, char** argv) {
  int rounds = argc > 1 ? atoi(argv[1]) : 2000;
  if (rounds < 2 || rounds > 100000) return 2;
  struct shared* s = mmap(NULL, sizeof *s, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (s == MAP_FAILED) return 1;
  s->turn = 0;
  pid_t pid = fork();
  if (pid == 0) {
    run(s, 1, rounds);
    _exit(0);
  }
  run(s, 0, rounds);
  waitpid(pid, NULL, 0);
  for (int me = 0; me < 2; me++)
    for (int i = 0; i < rounds && s->lat[me][i] >= 0; i++) printf("%lld\n", (long long)s->lat[me][i]);
  return 0;
}
