// The GSM native core: map a named POSIX shared-memory object and give JavaScript
// bounded copies, atomics, cross-process futex wait/wake and robust mutexes over it.
//
// Why native at all: Electron's V8 sandbox forbids ArrayBuffers over foreign memory,
// so JS can never hold a view of the mapping; every access is a call that copies or
// performs one atomic operation. Every offset and length is checked here, so a bad
// one is a RangeError and never a stray access.
//
// Why two binding styles: everything goes through N-API except the two calls on
// the uncontended lock path (mutexTryLock, mutexUnlock), which are plain V8
// callbacks: an N-API crossing costs ~22 ns here against ~7 ns, and those two
// calls are the whole cost of a global lock/unlock pair.
//
// Why robust mutexes live here: a global mutex must report ABANDONED when its holder
// dies, without the dead process running any code (paper §3.3.1). The Linux kernel
// walks a dying thread's robust futex list and sets FUTEX_OWNER_DIED in each futex
// word it still owns; we link every held global mutex into the calling thread's
// (glibc-registered) robust list, exactly as glibc does for pthread robust mutexes.
#include <node_api.h>
#include <v8.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <linux/futex.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <vector>
#include <string>
#include <thread>

namespace {

// ---------------------------------------------------------------- N-API plumbing

#define NAPI_OK(call)                                                        \
  do {                                                                       \
    if ((call) != napi_ok) {                                                 \
      const napi_extended_error_info* info = nullptr;                        \
      napi_get_last_error_info(env, &info);                                  \
      bool pending = false;                                                  \
      napi_is_exception_pending(env, &pending);                              \
      if (!pending)                                                          \
        napi_throw_error(env, "EGSMNAPI",                                    \
                         info && info->error_message ? info->error_message   \
                                                     : "N-API call failed"); \
      return nullptr;                                                        \
    }                                                                        \
  } while (0)

napi_value Throw(napi_env env, const char* code, const std::string& msg) {
  napi_throw_error(env, code, msg.c_str());
  return nullptr;
}
napi_value ThrowRange(napi_env env, const std::string& msg) {
  napi_throw_range_error(env, "ERR_GSM_RANGE", msg.c_str());
  return nullptr;
}

napi_value U32(napi_env env, uint32_t v) {
  napi_value r;
  napi_create_uint32(env, v, &r);
  return r;
}
napi_value I32(napi_env env, int32_t v) {
  napi_value r;
  napi_create_int32(env, v, &r);
  return r;
}
napi_value Str(napi_env env, const char* s) {
  napi_value r;
  napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &r);
  return r;
}

bool GetDouble(napi_env env, napi_value v, double* out, const char* what) {
  if (napi_get_value_double(env, v, out) != napi_ok) {
    napi_throw_type_error(env, "ERR_GSM_ARG", (std::string(what) + " must be a number").c_str());
    return false;
  }
  return true;
}

// A non-negative safe integer (offsets, lengths, timeouts in whole units).
bool GetIndex(napi_env env, napi_value v, uint64_t* out, const char* what) {
  double d;
  if (!GetDouble(env, v, &d, what)) return false;
  if (!(d >= 0) || d > 9007199254740991.0 || d != (double)(uint64_t)d) {
    napi_throw_range_error(env, "ERR_GSM_RANGE",
                           (std::string(what) + " must be a non-negative integer").c_str());
    return false;
  }
  *out = (uint64_t)d;
  return true;
}

bool GetU32(napi_env env, napi_value v, uint32_t* out, const char* what) {
  double d;
  if (!GetDouble(env, v, &d, what)) return false;
  if (!(d >= 0) || d > 4294967295.0 || d != (double)(uint32_t)d) {
    napi_throw_range_error(env, "ERR_GSM_RANGE",
                           (std::string(what) + " must be an unsigned 32-bit integer").c_str());
    return false;
  }
  *out = (uint32_t)d;
  return true;
}

bool GetU64Big(napi_env env, napi_value v, uint64_t* out, const char* what) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (t != napi_bigint) {
    napi_throw_type_error(env, "ERR_GSM_ARG", (std::string(what) + " must be a bigint").c_str());
    return false;
  }
  bool lossless = true;
  napi_get_value_bigint_uint64(env, v, out, &lossless);
  if (!lossless) {
    napi_throw_range_error(env, "ERR_GSM_RANGE",
                           (std::string(what) + " must fit in an unsigned 64-bit integer").c_str());
    return false;
  }
  return true;
}

// Timeout in milliseconds: a non-negative number, or Infinity / negative for "forever".
bool GetTimeout(napi_env env, napi_value v, int64_t* outNs) {
  double d;
  if (!GetDouble(env, v, &d, "timeoutMs")) return false;
  if (d != d) {
    napi_throw_range_error(env, "ERR_GSM_RANGE", "timeoutMs must not be NaN");
    return false;
  }
  if (d < 0 || d > 1e12) {
    *outNs = -1;
  } else {
    *outNs = (int64_t)(d * 1e6);
  }
  return true;
}

// ---------------------------------------------------------------- time and futex

int64_t MonoNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

// Lock timestamps are taken twice per lock/unlock, so they use the cycle counter
// (9 ns here) rather than clock_gettime (19 ns). The TSC is shared by every core
// and process on the machine (the kernel only picks it as clocksource when it is
// constant and synchronised); readers convert ticks with the calibrated rate.
#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
inline uint64_t Ticks() { return __rdtsc(); }
#else
inline uint64_t Ticks() { return (uint64_t)MonoNs(); }
#endif

double gNsPerTick = 1.0;

void CalibrateTicks() {
  int64_t n0 = MonoNs();
  uint64_t t0 = Ticks();
  while (MonoNs() - n0 < 2000000) {
  }
  int64_t n1 = MonoNs();
  uint64_t t1 = Ticks();
  if (t1 > t0) gNsPerTick = (double)(n1 - n0) / (double)(t1 - t0);
}

// glibc no longer caches getpid(); it is a syscall we must not pay per lock.
// Node never forks a running isolate, so the value cannot go stale.
uint32_t Pid() {
  static uint32_t pid = (uint32_t)getpid();
  return pid;
}

pid_t Tid() {
  static thread_local pid_t tid = 0;
  if (tid == 0) tid = (pid_t)syscall(SYS_gettid);
  return tid;
}

// Shared (not PRIVATE) futex ops: the word lives in a MAP_SHARED mapping and the
// kernel keys it by inode+offset, so waiters in other processes see the wake.
// deadlineNs < 0 waits forever; otherwise an absolute CLOCK_MONOTONIC deadline, so
// spurious wake-ups never stretch the caller's timeout.
int FutexWait(uint32_t* addr, uint32_t expected, int64_t deadlineNs) {
  timespec ts, *pts = nullptr;
  if (deadlineNs >= 0) {
    ts.tv_sec = deadlineNs / 1000000000LL;
    ts.tv_nsec = deadlineNs % 1000000000LL;
    pts = &ts;
  }
  long r = syscall(SYS_futex, addr, FUTEX_WAIT_BITSET, expected, pts, nullptr, FUTEX_BITSET_MATCH_ANY);
  return r == 0 ? 0 : errno;
}

int FutexWake(uint32_t* addr, int count) {
  long r = syscall(SYS_futex, addr, FUTEX_WAKE, count, nullptr, nullptr, 0);
  return r < 0 ? 0 : (int)r;
}

enum WaitResult { kWaitOk = 0, kWaitNotEqual = 1, kWaitTimedOut = 2, kWaitFailed = 3 };

const char* WaitResultName(int r) {
  switch (r) {
    case kWaitOk: return "ok";
    case kWaitNotEqual: return "not-equal";
    case kWaitTimedOut: return "timed-out";
    default: return "failed";
  }
}

int WaitOnce(uint32_t* addr, uint32_t expected, int64_t deadlineNs) {
  for (;;) {
    if (__atomic_load_n(addr, __ATOMIC_ACQUIRE) != expected) return kWaitNotEqual;
    if (deadlineNs >= 0 && MonoNs() >= deadlineNs) return kWaitTimedOut;
    int e = FutexWait(addr, expected, deadlineNs);
    if (e == 0) return kWaitOk;
    if (e == EAGAIN) return kWaitNotEqual;
    if (e == ETIMEDOUT) return kWaitTimedOut;
    if (e == EINTR) continue;
    return kWaitFailed;
  }
}

// ---------------------------------------------------------------- the mapping

// The failed-region map (paper §3.3.2, §7.2) lives in the mapping itself so every
// process sees the same failures. Layout at failMapOff:
//   u32 epoch (odd while a writer edits), u32 count, u64 reserved,
//   then `capacity` ranges of { u64 offset, u64 length }.
struct Mapping {
  uint8_t* base = nullptr;
  uint64_t size = 0;
  bool closed = false;
  std::string name;
  std::atomic<int> pendingWaits{0};
  uint64_t failMapOff = 0;  // 0 = failure model not configured
  uint32_t failMapCap = 0;
  uint64_t failCounterOff = 0;
  uint8_t dummy = 0xff;
  // Offsets below this (the system area, which holds the map itself) never fail,
  // so they skip the check, and the map's own writer never waits on itself.
  uint64_t failableFrom = 0;
  // Who we are, recorded as the owner of global mutexes for status tools.
  uint32_t node = 0xffffffff;
  uint32_t incarnation = 0;
  // Which shared-memory object this maps: two mappings of one GSM in one thread
  // (a lock taken through one, released through the other) name the same mutex.
  dev_t dev = 0;
  ino_t ino = 0;
};

inline bool SameObject(const Mapping* a, const Mapping* b) { return a->dev == b->dev && a->ino == b->ino; }

int AbandonHeldIn(Mapping* m);

void Unmap(Mapping* m) {
  if (m->base) munmap(m->base, m->size);
  m->base = nullptr;
}

void FinalizeMapping(napi_env, void* data, void*) {
  Mapping* m = static_cast<Mapping*>(data);
  // A pending async wait keeps the JS object alive through its reference, so
  // reaching here means nothing can still touch the memory. The struct itself is
  // kept (it is small): the hot methods installed on the instance carry its
  // address, and a detached copy of one may outlive the object; it then sees
  // `closed` instead of freed memory.
  //
  // Finalizers run when a worker thread's environment is torn down, before the
  // thread exits: unmapping under mutexes it still holds would leave its robust
  // list pointing at unmapped memory, the kernel's walk at thread exit would fault
  // and stop, and those mutexes would keep a dead TID forever. They are released
  // as owner-died first, exactly what the kernel would have done (a mapping is
  // only ever used by the thread whose environment created it, so every entry in
  // this mapping is on this thread's list).
  if (!m->closed) AbandonHeldIn(m);
  Unmap(m);
  m->closed = true;
}

Mapping* Unwrap(napi_env env, napi_value self, void* data = nullptr) {
  void* p = data;
  if (p == nullptr && (napi_unwrap(env, self, &p) != napi_ok || p == nullptr)) {
    napi_throw_type_error(env, "ERR_GSM_ARG", "not a GSM mapping");
    return nullptr;
  }
  Mapping* m = static_cast<Mapping*>(p);
  if (m->closed) {
    napi_throw_error(env, "ERR_GSM_CLOSED", ("GSM mapping " + m->name + " is closed").c_str());
    return nullptr;
  }
  return m;
}

bool CheckRange(napi_env env, Mapping* m, uint64_t off, uint64_t len, uint64_t align) {
  if (off > m->size || len > m->size - off) {
    ThrowRange(env, "GSM access [" + std::to_string(off) + ", +" + std::to_string(len) +
                        ") is outside the mapping of " + std::to_string(m->size) + " bytes");
    return false;
  }
  if (align > 1 && (off % align) != 0) {
    ThrowRange(env, "GSM atomic offset " + std::to_string(off) + " is not " +
                        std::to_string(align) + "-byte aligned");
    return false;
  }
  return true;
}

// Calls fn(failedStart, failedLen) for each failed sub-range of [off, off+len),
// under the map's seqlock so a concurrent edit is never half-read. Returns false
// if none failed (the common case costs two atomic loads).
template <typename Fn>
bool ForEachFailed(Mapping* m, uint64_t off, uint64_t len, Fn fn) {
  if (m->failMapOff == 0 || off + len <= m->failableFrom) return false;
  uint32_t* epochP = reinterpret_cast<uint32_t*>(m->base + m->failMapOff);
  uint32_t* countP = epochP + 1;
  for (;;) {
    uint32_t e1 = __atomic_load_n(epochP, __ATOMIC_ACQUIRE);
    if (e1 & 1) { sched_yield(); continue; }
    uint32_t count = __atomic_load_n(countP, __ATOMIC_ACQUIRE);
    if (count == 0) {
      if (__atomic_load_n(epochP, __ATOMIC_ACQUIRE) == e1) return false;
      continue;
    }
    if (count > m->failMapCap) count = m->failMapCap;
    uint64_t starts[64], lens[64];
    uint32_t hits = 0;
    const uint64_t* ranges = reinterpret_cast<const uint64_t*>(m->base + m->failMapOff + 16);
    for (uint32_t i = 0; i < count; i++) {
      uint64_t rs = __atomic_load_n(&ranges[2 * i], __ATOMIC_RELAXED);
      uint64_t rl = __atomic_load_n(&ranges[2 * i + 1], __ATOMIC_RELAXED);
      uint64_t s = rs > off ? rs : off;
      uint64_t e = (rs + rl) < (off + len) ? (rs + rl) : (off + len);
      if (s < e && hits < 64) { starts[hits] = s; lens[hits] = e - s; hits++; }
    }
    if (__atomic_load_n(epochP, __ATOMIC_ACQUIRE) != e1) continue;
    for (uint32_t i = 0; i < hits; i++) fn(starts[i], lens[i]);
    return hits > 0;
  }
}

// Paper §7.2: a global count of memory failures since power-on.
void CountFailure(Mapping* m) {
  if (m->failCounterOff)
    __atomic_fetch_add(reinterpret_cast<uint64_t*>(m->base + m->failCounterOff), 1, __ATOMIC_ACQ_REL);
}

bool WordFailed(Mapping* m, uint64_t off, uint64_t len) {
  if (ForEachFailed(m, off, len, [](uint64_t, uint64_t) {})) {
    CountFailure(m);
    return true;
  }
  return false;
}

template <typename T>
T DummyWord(Mapping* m) {
  T v;
  memset(&v, m->dummy, sizeof v);
  return v;
}

// ---------------------------------------------------------------- open / close

bool ValidShmName(const std::string& n) {
  if (n.size() < 2 || n.size() > 200 || n[0] != '/') return false;
  for (size_t i = 1; i < n.size(); i++) {
    char c = n[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
          c == '_' || c == '-'))
      return false;
  }
  return true;
}

bool GetName(napi_env env, napi_value v, std::string* out) {
  char buf[256];
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, buf, sizeof buf, &len) != napi_ok) {
    napi_throw_type_error(env, "ERR_GSM_ARG", "shared-memory name must be a string");
    return false;
  }
  *out = std::string(buf, len);
  if (!ValidShmName(*out)) {
    napi_throw_range_error(env, "ERR_GSM_NAME",
                           "shared-memory name must be '/' followed by 1-199 of [A-Za-z0-9._-]");
    return false;
  }
  return true;
}

napi_status InstallHotMethods(napi_env env, napi_value self, Mapping* m);

// new Mapping(name, size, create): create=true makes a new object (exclusive; an
// existing one is an error so two multicomputers never share GSM by accident),
// create=false attaches to an existing one and takes its size from the object.
napi_value MappingCtor(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], self;
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, &self, nullptr));
  if (argc < 3) return Throw(env, "ERR_GSM_ARG", "Mapping(name, size, create) needs 3 arguments");
  std::string name;
  if (!GetName(env, argv[0], &name)) return nullptr;
  uint64_t size;
  if (!GetIndex(env, argv[1], &size, "size")) return nullptr;
  bool create = false;
  NAPI_OK(napi_get_value_bool(env, argv[2], &create));

  int fd;
  if (create) {
    if (size < 4096 || size > (1ULL << 40))
      return ThrowRange(env, "GSM size must be between 4 KiB and 1 TiB");
    fd = shm_open(name.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
    if (fd < 0)
      return Throw(env, errno == EEXIST ? "ERR_GSM_EXISTS" : "ERR_GSM_OPEN",
                   "cannot create shared memory " + name + ": " + strerror(errno));
    if (ftruncate(fd, (off_t)size) != 0) {
      int e = errno;
      close(fd);
      shm_unlink(name.c_str());
      return Throw(env, "ERR_GSM_OPEN", "cannot size shared memory " + name + ": " + strerror(e));
    }
  } else {
    fd = shm_open(name.c_str(), O_RDWR, 0600);
    if (fd < 0)
      return Throw(env, errno == ENOENT ? "ERR_GSM_NOENT" : "ERR_GSM_OPEN",
                   "cannot open shared memory " + name + ": " + strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
      int e = errno;
      close(fd);
      return Throw(env, "ERR_GSM_OPEN", "cannot stat shared memory " + name + ": " + strerror(e));
    }
    size = (uint64_t)st.st_size;
    if (size < 4096) {
      close(fd);
      return Throw(env, "ERR_GSM_OPEN", "shared memory " + name + " is too small to be GSM");
    }
  }
  struct stat ident;
  if (fstat(fd, &ident) != 0) memset(&ident, 0, sizeof ident);
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  int e = errno;
  close(fd);
  if (p == MAP_FAILED) {
    if (create) shm_unlink(name.c_str());
    return Throw(env, "ERR_GSM_OPEN", "cannot map shared memory " + name + ": " + strerror(e));
  }
  Mapping* m = new Mapping();
  m->base = static_cast<uint8_t*>(p);
  m->size = size;
  m->name = name;
  m->dev = ident.st_dev;
  m->ino = ident.st_ino;
  NAPI_OK(napi_wrap(env, self, m, FinalizeMapping, nullptr, nullptr));
  NAPI_OK(InstallHotMethods(env, self, m));
  return self;
}

napi_value Close(napi_env env, napi_callback_info info) {
  napi_value self;
  NAPI_OK(napi_get_cb_info(env, info, nullptr, nullptr, &self, nullptr));
  void* p = nullptr;
  if (napi_unwrap(env, self, &p) != napi_ok || !p) return Throw(env, "ERR_GSM_ARG", "not a GSM mapping");
  Mapping* m = static_cast<Mapping*>(p);
  if (m->closed) return Throw(env, "ERR_GSM_CLOSED", "GSM mapping " + m->name + " is already closed");
  // Closing a mapping through which this thread still holds global mutexes
  // abandons them (the next locker gets ABANDONED, as if this holder had died):
  // the alternative, unmapping under them, would wedge them for good.
  AbandonHeldIn(m);
  m->closed = true;
  // With async waits in flight their threads still name addresses in the mapping;
  // the last of them unmaps (see WaitAsyncDone).
  if (m->pendingWaits.load() == 0) Unmap(m);
  return nullptr;
}

napi_value Unlink(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  std::string name;
  if (argc < 1 || !GetName(env, argv[0], &name)) return nullptr;
  napi_value r;
  napi_get_boolean(env, shm_unlink(name.c_str()) == 0, &r);
  return r;
}

// ---------------------------------------------------------------- getters

napi_value GetSize(napi_env env, napi_callback_info info) {
  napi_value self;
  NAPI_OK(napi_get_cb_info(env, info, nullptr, nullptr, &self, nullptr));
  void* p = nullptr;
  napi_unwrap(env, self, &p);
  napi_value r;
  napi_create_double(env, p ? (double)static_cast<Mapping*>(p)->size : 0, &r);
  return r;
}

napi_value GetClosed(napi_env env, napi_callback_info info) {
  napi_value self;
  NAPI_OK(napi_get_cb_info(env, info, nullptr, nullptr, &self, nullptr));
  void* p = nullptr;
  napi_unwrap(env, self, &p);
  napi_value r;
  napi_get_boolean(env, !p || static_cast<Mapping*>(p)->closed, &r);
  return r;
}

// ---------------------------------------------------------------- copies

struct Bytes {
  uint8_t* data;
  size_t len;
};

bool GetBytes(napi_env env, napi_value v, Bytes* out) {
  bool is = false;
  napi_is_typedarray(env, v, &is);
  if (!is) {
    napi_throw_type_error(env, "ERR_GSM_ARG", "buffer must be a Uint8Array");
    return false;
  }
  napi_typedarray_type type;
  size_t length, byteOffset;
  void* data;
  napi_value ab;
  napi_get_typedarray_info(env, v, &type, &length, &data, &ab, &byteOffset);
  if (type != napi_uint8_array) {
    napi_throw_type_error(env, "ERR_GSM_ARG", "buffer must be a Uint8Array");
    return false;
  }
  out->data = static_cast<uint8_t*>(data);
  out->len = length;
  return true;
}

template <bool kRead>
napi_value Copy(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4], self;
  void* data = nullptr;
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, &self, &data));
  Mapping* m = Unwrap(env, self, data);
  if (!m) return nullptr;
  if (argc < 2) return Throw(env, "ERR_GSM_ARG", kRead ? "read(offset, into)" : "write(offset, from)");
  uint64_t off;
  Bytes b;
  if (!GetIndex(env, argv[0], &off, "offset") || !GetBytes(env, argv[1], &b)) return nullptr;
  if (!CheckRange(env, m, off, b.len, 1)) return nullptr;
  // Optional guard (guardOffset, guardValue): the copy happens only while that
  // 32-bit word still holds the value, i.e. the object's generation is unchanged,
  // so a handle to a deleted or reclaimed object cannot touch its old memory.
  if (argc >= 4) {
    uint64_t gOff;
    uint32_t gVal;
    if (!GetIndex(env, argv[2], &gOff, "guardOffset") || !CheckRange(env, m, gOff, 4, 4) ||
        !GetU32(env, argv[3], &gVal, "guardValue"))
      return nullptr;
    if (__atomic_load_n(reinterpret_cast<uint32_t*>(m->base + gOff), __ATOMIC_ACQUIRE) != gVal)
      return Throw(env, "ERR_GSM_STALE", "the object was deleted or reclaimed (stale id)");
  }
  uint64_t failed = 0;
  if (kRead) {
    memcpy(b.data, m->base + off, b.len);
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    // Failed reads are satisfied with the preset dummy value, as the MCS hardware
    // design specifies, instead of whatever the dead node left behind.
    ForEachFailed(m, off, b.len, [&](uint64_t s, uint64_t l) {
      memset(b.data + (s - off), m->dummy, l);
      failed += l;
    });
  } else {
    // Writes to failed memory are dropped; the good parts between failed ranges land.
    std::vector<std::pair<uint64_t, uint64_t>> bad;
    ForEachFailed(m, off, b.len, [&](uint64_t s, uint64_t l) {
      bad.emplace_back(s, s + l);
      failed += l;
    });
    __atomic_thread_fence(__ATOMIC_RELEASE);
    std::sort(bad.begin(), bad.end());
    uint64_t pos = off, end = off + b.len;
    for (auto& r : bad) {
      if (r.first > pos) memcpy(m->base + pos, b.data + (pos - off), r.first - pos);
      if (r.second > pos) pos = r.second;
    }
    if (pos < end) memcpy(m->base + pos, b.data + (pos - off), end - pos);
  }
  if (failed) CountFailure(m);
  return U32(env, (uint32_t)(failed > 0xffffffffULL ? 0xffffffffULL : failed));
}

// ---------------------------------------------------------------- atomics

enum AtomicOp { kLoad, kStore, kCas, kAdd, kXchg };

template <AtomicOp kOp>
napi_value Atomic32(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], self;
  void* data = nullptr;
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, &self, &data));
  Mapping* m = Unwrap(env, self, data);
  if (!m) return nullptr;
  size_t need = kOp == kLoad ? 1 : kOp == kCas ? 3 : 2;
  if (argc < need) return Throw(env, "ERR_GSM_ARG", "missing argument to atomic operation");
  uint64_t off;
  if (!GetIndex(env, argv[0], &off, "offset") || !CheckRange(env, m, off, 4, 4)) return nullptr;
  uint32_t a = 0, b = 0;
  if (kOp == kAdd) {
    // fetch-add takes a signed delta so counters can go down as well as up.
    double d;
    if (!GetDouble(env, argv[1], &d, "delta")) return nullptr;
    if (d != (double)(int64_t)d || d < -4294967295.0 || d > 4294967295.0)
      return ThrowRange(env, "delta must be an integer within 32 bits");
    a = (uint32_t)(int64_t)d;
  } else if (need >= 2 && !GetU32(env, argv[1], &a, "value")) {
    return nullptr;
  }
  if (kOp == kCas && !GetU32(env, argv[2], &b, "desired")) return nullptr;
  if (WordFailed(m, off, 4)) return kOp == kStore ? nullptr : U32(env, DummyWord<uint32_t>(m));
  uint32_t* p = reinterpret_cast<uint32_t*>(m->base + off);
  switch (kOp) {
    case kLoad: return U32(env, __atomic_load_n(p, __ATOMIC_ACQUIRE));
    case kStore: __atomic_store_n(p, a, __ATOMIC_RELEASE); return nullptr;
    case kCas: {
      uint32_t expected = a;
      __atomic_compare_exchange_n(p, &expected, b, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
      return U32(env, expected);
    }
    case kAdd: return U32(env, __atomic_fetch_add(p, a, __ATOMIC_ACQ_REL));
    case kXchg: return U32(env, __atomic_exchange_n(p, a, __ATOMIC_ACQ_REL));
  }
  return nullptr;
}

napi_value Big(napi_env env, uint64_t v) {
  napi_value r;
  napi_create_bigint_uint64(env, v, &r);
  return r;
}

template <AtomicOp kOp>
napi_value Atomic64(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], self;
  void* data = nullptr;
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, &self, &data));
  Mapping* m = Unwrap(env, self, data);
  if (!m) return nullptr;
  size_t need = kOp == kLoad ? 1 : kOp == kCas ? 3 : 2;
  if (argc < need) return Throw(env, "ERR_GSM_ARG", "missing argument to atomic operation");
  uint64_t off, a = 0, b = 0;
  if (!GetIndex(env, argv[0], &off, "offset") || !CheckRange(env, m, off, 8, 8)) return nullptr;
  if (need >= 2 && !GetU64Big(env, argv[1], &a, "value")) return nullptr;
  if (kOp == kCas && !GetU64Big(env, argv[2], &b, "desired")) return nullptr;
  if (WordFailed(m, off, 8)) return kOp == kStore ? nullptr : Big(env, DummyWord<uint64_t>(m));
  uint64_t* p = reinterpret_cast<uint64_t*>(m->base + off);
  switch (kOp) {
    case kLoad: return Big(env, __atomic_load_n(p, __ATOMIC_ACQUIRE));
    case kStore: __atomic_store_n(p, a, __ATOMIC_RELEASE); return nullptr;
    case kCas: {
      uint64_t expected = a;
      __atomic_compare_exchange_n(p, &expected, b, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
      return Big(env, expected);
    }
    case kAdd: return Big(env, __atomic_fetch_add(p, a, __ATOMIC_ACQ_REL));
    case kXchg: return Big(env, __atomic_exchange_n(p, a, __ATOMIC_ACQ_REL));
  }
  return nullptr;
}

// load64n / store64n / add64n: the same 64-bit words as plain JS numbers, for
// counters and timestamps that stay below 2^53 (no BigInt allocation per call).
napi_value Load64N(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], self;
  void* data = nullptr;
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, &self, &data));
  Mapping* m = Unwrap(env, self, data);
  uint64_t off;
  if (!m || argc < 1 || !GetIndex(env, argv[0], &off, "offset") || !CheckRange(env, m, off, 8, 8)) return nullptr;
  uint64_t v = WordFailed(m, off, 8) ? DummyWord<uint64_t>(m)
                                     : __atomic_load_n(reinterpret_cast<uint64_t*>(m->base + off), __ATOMIC_ACQUIRE);
  napi_value r;
  napi_create_double(env, (double)v, &r);
  return r;
}

template <bool kAddOp>
napi_value Store64N(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], self;
  void* data = nullptr;
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, &self, &data));
  Mapping* m = Unwrap(env, self, data);
  uint64_t off, v;
  if (!m || argc < 2 || !GetIndex(env, argv[0], &off, "offset") || !CheckRange(env, m, off, 8, 8) ||
      !GetIndex(env, argv[1], &v, "value"))
    return nullptr;
  if (WordFailed(m, off, 8)) return kAddOp ? U32(env, 0) : nullptr;
  uint64_t* p = reinterpret_cast<uint64_t*>(m->base + off);
  if (kAddOp) {
    napi_value r;
    napi_create_double(env, (double)__atomic_fetch_add(p, v, __ATOMIC_ACQ_REL), &r);
    return r;
  }
  __atomic_store_n(p, v, __ATOMIC_RELEASE);
  return nullptr;
}

// ---------------------------------------------------------------- wait / wake

napi_value Wait32(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], self;
  void* data = nullptr;
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, &self, &data));
  Mapping* m = Unwrap(env, self, data);
  if (!m) return nullptr;
  uint64_t off;
  uint32_t expected;
  int64_t timeoutNs;
  if (argc < 3 || !GetIndex(env, argv[0], &off, "offset") || !CheckRange(env, m, off, 4, 4) ||
      !GetU32(env, argv[1], &expected, "expected") || !GetTimeout(env, argv[2], &timeoutNs))
    return nullptr;
  if (WordFailed(m, off, 4)) return Str(env, "failed");
  int64_t deadline = timeoutNs < 0 ? -1 : MonoNs() + timeoutNs;
  return Str(env, WaitResultName(WaitOnce(reinterpret_cast<uint32_t*>(m->base + off), expected, deadline)));
}

napi_value Wake32(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], self;
  void* data = nullptr;
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, &self, &data));
  Mapping* m = Unwrap(env, self, data);
  if (!m) return nullptr;
  uint64_t off;
  double count = 1;
  if (argc < 1 || !GetIndex(env, argv[0], &off, "offset") || !CheckRange(env, m, off, 4, 4)) return nullptr;
  if (argc >= 2 && !GetDouble(env, argv[1], &count, "count")) return nullptr;
  int n = count >= 2147483647.0 || count != count ? 2147483647 : count < 1 ? 1 : (int)count;
  return I32(env, FutexWake(reinterpret_cast<uint32_t*>(m->base + off), n));
}

// An asynchronous wait runs on its own thread (not libuv's small pool, which
// long futex waits would starve) and resolves a promise back on the JS thread.
struct AsyncWait {
  Mapping* m;
  napi_ref selfRef;
  napi_deferred deferred;
  napi_threadsafe_function tsfn;
  uint32_t* addr;
  uint32_t expected;
  int64_t deadline;
  int result;
};

void WaitAsyncDone(napi_env env, napi_value, void*, void* data) {
  AsyncWait* w = static_cast<AsyncWait*>(data);
  if (env) {
    napi_resolve_deferred(env, w->deferred, Str(env, WaitResultName(w->result)));
    if (w->m->pendingWaits.fetch_sub(1) == 1 && w->m->closed) Unmap(w->m);
    napi_delete_reference(env, w->selfRef);
  }
  napi_release_threadsafe_function(w->tsfn, napi_tsfn_release);
  delete w;
}

napi_value Wait32Async(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], self;
  void* data = nullptr;
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, &self, &data));
  Mapping* m = Unwrap(env, self, data);
  if (!m) return nullptr;
  uint64_t off;
  uint32_t expected;
  int64_t timeoutNs;
  if (argc < 3 || !GetIndex(env, argv[0], &off, "offset") || !CheckRange(env, m, off, 4, 4) ||
      !GetU32(env, argv[1], &expected, "expected") || !GetTimeout(env, argv[2], &timeoutNs))
    return nullptr;
  napi_value promise;
  AsyncWait* w = new AsyncWait();
  NAPI_OK(napi_create_promise(env, &w->deferred, &promise));
  if (WordFailed(m, off, 4)) {
    napi_resolve_deferred(env, w->deferred, Str(env, "failed"));
    delete w;
    return promise;
  }
  w->m = m;
  w->addr = reinterpret_cast<uint32_t*>(m->base + off);
  w->expected = expected;
  w->deadline = timeoutNs < 0 ? -1 : MonoNs() + timeoutNs;
  NAPI_OK(napi_create_reference(env, self, 1, &w->selfRef));
  napi_value resName = Str(env, "mcs-gsm-wait");
  NAPI_OK(napi_create_threadsafe_function(env, nullptr, nullptr, resName, 0, 1, nullptr, nullptr, w,
                                          WaitAsyncDone, &w->tsfn));
  m->pendingWaits.fetch_add(1);
  std::thread([w]() {
    w->result = WaitOnce(w->addr, w->expected, w->deadline);
    napi_call_threadsafe_function(w->tsfn, w, napi_tsfn_blocking);
  }).detach();
  return promise;
}

// ---------------------------------------------------------------- robust mutexes

// Global mutex layout (kMutexSize bytes, 8-aligned, in GSM):
//   0  u32 word: owner TID | FUTEX_WAITERS | FUTEX_OWNER_DIED (kernel robust format)
//   4  u32 state: 0 consistent, 1 inconsistent (abandoned, held), 2 not recoverable
//   8  u32 owner node    12 u32 owner pid    16 u32 owner incarnation
//   20 u32 abandon count
//   24 u64 reserved      32 u64 robust next   (the holder's robust-list link; process-local)
//   40 u64 locked-at (cycle-counter ticks, see Ticks(): one clock for every process)
//   48 u32 lock count    52 u32 waiter count  56 u32 waiter ticket  60 u32 max hold us
//   64 u64 total hold ticks
//   72 u32 abandoned-by pid  76 u32 abandoned-by node  (the holder that died, kept
//      when the next locker takes over so status tools and the log can name it)
//   80..127 reserved
//   128 kWaiterSlots x 32-byte waiter slots { u32 tid, u32 pid, u32 node, u32 ticket,
//       u64 since ticks, u64 reserved } so status tools can list who waits, in order.
constexpr uint64_t kMutexSize = 384;
constexpr uint32_t kWaiterSlots = 8;
constexpr uint32_t kStateConsistent = 0, kStateInconsistent = 1, kStateNotRecoverable = 2;
constexpr uint32_t kRobustNextOff = 32;

enum LockResult {
  kLockOk = 0,
  kLockAbandoned = 1,
  kLockTimedOut = 2,
  kLockNotRecoverable = 3,
  kLockMemoryFailed = 4,
  kLockAlreadyOwned = 5,
  kLockBusy = 6,
  kLockStale = 7,
};

struct robust_list {
  robust_list* next;
};
struct robust_list_head {
  robust_list list;
  long futex_offset;
  robust_list* list_op_pending;
};

// Each thread's held global mutexes, in robust-list order (back = newest). We
// keep the order here, in private memory, and only ever *write* list links into
// GSM: a link read back from shared memory could have been scribbled by another
// process or re-initialised with a node's contribution, and following it would
// crash this process. The kernel reads the links only when the thread dies.
//
// An entry remembers the mapping it was locked through, so that a lock taken
// through one mapping of a GSM and released through another (two Gsm.attach in
// one thread) finds its entry, and closing a mapping finds what it still holds.
struct Held {
  Mapping* m;
  uint64_t off;
  uint8_t* mu() const { return m->base + off; }
};

struct ThreadRobust {
  robust_list_head* head = nullptr;
  robust_list_head own;  // used when the C library registered no head
  std::vector<Held> held;
};

// The kernel may read the list at any instant (this thread can die between any
// two instructions), so the compiler must not reorder or defer the plain stores
// that link entries and set list_op_pending; glibc uses the same empty asm.
#define ROBUST_BARRIER() __asm__ __volatile__("" ::: "memory")

ThreadRobust& RobustState() {
  static thread_local ThreadRobust t;
  return t;
}

ThreadRobust* Robust(std::string* err) {
  ThreadRobust& t = RobustState();
  if (t.head) return &t;
  robust_list_head* h = nullptr;
  size_t len = 0;
  if (syscall(SYS_get_robust_list, 0, &h, &len) != 0) h = nullptr;
  if (h == nullptr) {
    t.own.list.next = &t.own.list;
    t.own.futex_offset = -(long)kRobustNextOff;
    t.own.list_op_pending = nullptr;
    if (syscall(SYS_set_robust_list, &t.own, sizeof t.own) != 0) {
      *err = std::string("set_robust_list failed: ") + strerror(errno);
      return nullptr;
    }
    h = &t.own;
  }
  if (h->futex_offset != -(long)kRobustNextOff) {
    *err = "this C library's robust-list futex offset is " + std::to_string(h->futex_offset) +
           ", the GSM mutex layout needs -" + std::to_string(kRobustNextOff);
    return nullptr;
  }
  // Node, V8 and libuv use no robust pthread mutexes; if something did, its list
  // entries would interleave with ours in ways we do not track.
  if (h->list.next != &h->list) {
    *err = "the thread's robust futex list is already in use by the C library";
    return nullptr;
  }
  t.head = h;
  return &t;
}

inline robust_list* Entry(uint8_t* mu) { return reinterpret_cast<robust_list*>(mu + kRobustNextOff); }

inline void SetPending(ThreadRobust* t, uint8_t* mu) {
  ROBUST_BARRIER();
  t->head->list_op_pending = mu ? Entry(mu) : nullptr;
  ROBUST_BARRIER();
}

// held.back() is the list head's first entry (the newest): the usual lock/unlock
// pair is a push_back and a pop_back.
void RobustEnqueue(ThreadRobust* t, Mapping* m, uint8_t* mu) {
  Entry(mu)->next = t->held.empty() ? &t->head->list : Entry(t->held.back().mu());
  ROBUST_BARRIER();
  t->held.push_back({m, (uint64_t)(mu - m->base)});
  t->head->list.next = Entry(mu);
  ROBUST_BARRIER();
}

// The entry for the mutex at `off` of the GSM `m` maps (through whichever mapping
// it was locked), or -1.
long FindHeld(ThreadRobust* t, Mapping* m, uint64_t off) {
  for (size_t i = t->held.size(); i-- > 0;)
    if (t->held[i].off == off && (t->held[i].m == m || SameObject(t->held[i].m, m))) return (long)i;
  return -1;
}

void RobustDequeueAt(ThreadRobust* t, size_t i) {
  robust_list* older = i > 0 ? Entry(t->held[i - 1].mu()) : &t->head->list;
  t->held.erase(t->held.begin() + i);
  ROBUST_BARRIER();
  if (i == t->held.size())
    t->head->list.next = t->held.empty() ? &t->head->list : Entry(t->held.back().mu());
  else
    Entry(t->held[i].mu())->next = older;  // the next-newer entry now skips it
  ROBUST_BARRIER();
}

inline uint32_t* Word(uint8_t* mu) { return reinterpret_cast<uint32_t*>(mu); }
inline uint32_t* U32At(uint8_t* mu, int off) { return reinterpret_cast<uint32_t*>(mu + off); }
inline uint64_t* U64At(uint8_t* mu, int off) { return reinterpret_cast<uint64_t*>(mu + off); }

// Owner node and pid are adjacent (8, 12), and so are abandoned-by pid and node
// (72, 76): each pair is one 64-bit store, so a kill between stores never leaves a
// pair half-written. The owner is written before abandoned-by so that if this
// locker is killed in between, the next locker names *it* as the abandoner.
inline uint64_t Pair(uint32_t lo, uint32_t hi) { return (uint64_t)lo | ((uint64_t)hi << 32); }

void RecordOwner(Mapping* m, uint8_t* mu, bool abandoned) {
  uint64_t previous = __atomic_load_n(U64At(mu, 8), __ATOMIC_RELAXED);  // node | pid << 32
  __atomic_store_n(U64At(mu, 8), Pair(m->node, Pid()), __ATOMIC_RELAXED);
  if (abandoned)
    __atomic_store_n(U64At(mu, 72), Pair((uint32_t)(previous >> 32), (uint32_t)previous), __ATOMIC_RELAXED);
  __atomic_store_n(U32At(mu, 16), m->incarnation, __ATOMIC_RELAXED);
  __atomic_store_n(U64At(mu, 40), Ticks(), __ATOMIC_RELAXED);
  // Statistics written only by the holder: plain load+store, no locked RMW.
  __atomic_store_n(U32At(mu, 48), __atomic_load_n(U32At(mu, 48), __ATOMIC_RELAXED) + 1, __ATOMIC_RELAXED);
  if (abandoned) {
    __atomic_store_n(U32At(mu, 4), kStateInconsistent, __ATOMIC_RELEASE);
    __atomic_store_n(U32At(mu, 20), __atomic_load_n(U32At(mu, 20), __ATOMIC_RELAXED) + 1, __ATOMIC_RELAXED);
  }
}

// One acquisition attempt. `waited` means we slept on the word: we then take it
// with FUTEX_WAITERS set, since other sleepers may still be there (as glibc does).
int TryAcquire(Mapping* m, uint8_t* mu, ThreadRobust* h, bool waited, uint32_t* seen) {
  uint32_t tid = (uint32_t)Tid();
  for (;;) {
    if (__atomic_load_n(U32At(mu, 4), __ATOMIC_ACQUIRE) == kStateNotRecoverable) return kLockNotRecoverable;
    uint32_t v = __atomic_load_n(Word(mu), __ATOMIC_ACQUIRE);
    *seen = v;
    if ((v & FUTEX_TID_MASK) == tid) return kLockAlreadyOwned;
    if ((v & FUTEX_TID_MASK) != 0) return kLockBusy;
    bool died = (v & FUTEX_OWNER_DIED) != 0;
    uint32_t want = tid | (waited ? FUTEX_WAITERS : (v & FUTEX_WAITERS));
    // list_op_pending covers a crash between taking the word and linking it.
    SetPending(h, mu);
    if (__atomic_compare_exchange_n(Word(mu), &v, want, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
      RobustEnqueue(h, m, mu);
      SetPending(h, nullptr);
      RecordOwner(m, mu, died);
      return died ? kLockAbandoned : kLockOk;
    }
    SetPending(h, nullptr);
  }
}

// Registers this thread in a free waiter slot (best effort: with all slots taken
// the waiter still waits, it just is not listed).
int RegisterWaiter(Mapping* m, uint8_t* mu) {
  uint32_t tid = (uint32_t)Tid();
  uint32_t ticket = __atomic_fetch_add(U32At(mu, 56), 1, __ATOMIC_RELAXED);
  __atomic_fetch_add(U32At(mu, 52), 1, __ATOMIC_RELAXED);
  for (uint32_t i = 0; i < kWaiterSlots; i++) {
    uint8_t* s = mu + 128 + 32 * i;
    uint32_t zero = 0;
    if (__atomic_compare_exchange_n(U32At(s, 0), &zero, tid, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
      __atomic_store_n(U32At(s, 4), Pid(), __ATOMIC_RELAXED);
      __atomic_store_n(U32At(s, 8), m->node, __ATOMIC_RELAXED);
      __atomic_store_n(U32At(s, 12), ticket, __ATOMIC_RELAXED);
      __atomic_store_n(U64At(s, 16), Ticks(), __ATOMIC_RELEASE);
      return (int)i;
    }
  }
  return -1;
}

void UnregisterWaiter(uint8_t* mu, int slot) {
  __atomic_fetch_sub(U32At(mu, 52), 1, __ATOMIC_RELAXED);
  if (slot >= 0) __atomic_store_n(U32At(mu + 128 + 32 * slot, 0), 0u, __ATOMIC_RELEASE);
}

// A waiter leaving without the lock (timed out, failed, or woken but beaten to it
// by a barging locker) may have consumed the one wake an unlock sent, or the
// unlock that cleared FUTEX_WAITERS may have been followed by a barger that took
// the word without it. Either way the other sleepers would sleep on until their
// own timeouts. So a leaver with company passes the wake on: a free word gets a
// wake, a held word gets FUTEX_WAITERS back so its unlock wakes someone.
void PassWakeOn(uint8_t* mu) {
  if (__atomic_load_n(U32At(mu, 52), __ATOMIC_ACQUIRE) == 0) return;
  uint32_t v = __atomic_load_n(Word(mu), __ATOMIC_ACQUIRE);
  for (;;) {
    if ((v & FUTEX_TID_MASK) == 0) {
      FutexWake(Word(mu), 1);
      return;
    }
    if (v & FUTEX_WAITERS) return;
    if (__atomic_compare_exchange_n(Word(mu), &v, v | FUTEX_WAITERS, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) return;
  }
}

// Sets FUTEX_WAITERS so the unlocker knows to wake, and returns the value to sleep
// on; 0 means the word changed under us and the caller should retry at once.
uint32_t ArmWait(uint8_t* mu, uint32_t seen) {
  if (seen & FUTEX_WAITERS) return seen;
  uint32_t v = seen;
  if (__atomic_compare_exchange_n(Word(mu), &v, seen | FUTEX_WAITERS, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
    return seen | FUTEX_WAITERS;
  return 0;
}

// Mutex calls take (offset, [timeoutMs], [guardOffset, guardValue]); the guard is
// the owning object's generation word, checked in the same call so a handle to a
// reclaimed mutex gets kLockStale instead of touching reused memory.
bool GetMutex(napi_env env, napi_callback_info info, size_t want, napi_value* argv, Mapping** mOut,
              uint8_t** muOut, ThreadRobust** hOut, bool* failedOut, bool* staleOut = nullptr,
              napi_value* selfOut = nullptr) {
  size_t argc = want + 2;
  napi_value self;
  void* data = nullptr;
  if (napi_get_cb_info(env, info, &argc, argv, &self, &data) != napi_ok) return false;
  Mapping* m = Unwrap(env, self, data);
  if (!m) return false;
  uint64_t off;
  if (argc < want) {
    Throw(env, "ERR_GSM_ARG", "missing argument to mutex operation");
    return false;
  }
  if (!GetIndex(env, argv[0], &off, "offset") || !CheckRange(env, m, off, kMutexSize, 8)) return false;
  std::string err;
  ThreadRobust* h = Robust(&err);
  if (!h) {
    Throw(env, "ERR_GSM_ROBUST", err);
    return false;
  }
  *mOut = m;
  *muOut = m->base + off;
  *hOut = h;
  *failedOut = WordFailed(m, off, kMutexSize);
  if (selfOut) *selfOut = self;
  if (staleOut) {
    *staleOut = false;
    if (argc >= want + 2) {
      uint64_t gOff;
      uint32_t gVal;
      if (!GetIndex(env, argv[want], &gOff, "guardOffset") || !CheckRange(env, m, gOff, 4, 4) ||
          !GetU32(env, argv[want + 1], &gVal, "guardValue"))
        return false;
      *staleOut = __atomic_load_n(reinterpret_cast<uint32_t*>(m->base + gOff), __ATOMIC_ACQUIRE) != gVal;
    }
  }
  return true;
}

// mutexLock(offset, timeoutMs): blocks the calling thread (for worker threads,
// node processes' own sync paths, and benchmarks). Returns a LockResult code.
napi_value MutexLock(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  Mapping* m;
  uint8_t* mu;
  ThreadRobust* h;
  bool failed, stale;
  if (!GetMutex(env, info, 2, argv, &m, &mu, &h, &failed, &stale)) return nullptr;
  int64_t timeoutNs;
  if (!GetTimeout(env, argv[1], &timeoutNs)) return nullptr;
  if (stale) return I32(env, kLockStale);
  if (failed) return I32(env, kLockMemoryFailed);
  uint32_t seen;
  int r = TryAcquire(m, mu, h, false, &seen);
  if (r != kLockBusy) return I32(env, r);
  int64_t deadline = timeoutNs < 0 ? -1 : MonoNs() + timeoutNs;
  int slot = RegisterWaiter(m, mu);
  for (;;) {
    uint32_t sleepOn = ArmWait(mu, seen);
    if (sleepOn) {
      int w = WaitOnce(Word(mu), sleepOn, deadline);
      if (w == kWaitFailed) { r = kLockMemoryFailed; break; }
    }
    // The memory may have failed while we slept: never take a word over it.
    if (WordFailed(m, (uint64_t)(mu - m->base), kMutexSize)) { r = kLockMemoryFailed; break; }
    // Also at the deadline: a word freed just as the timeout fired is taken
    // rather than reported TIMEOUT with the lock free.
    r = TryAcquire(m, mu, h, true, &seen);
    if (r != kLockBusy) break;
    if (deadline >= 0 && MonoNs() >= deadline) { r = kLockTimedOut; break; }
  }
  UnregisterWaiter(mu, slot);
  if (r != kLockOk && r != kLockAbandoned) PassWakeOn(mu);
  return I32(env, r);
}

// mutexLockAsync(offset, timeoutMs): the waiting happens on a helper thread that
// only sleeps on the futex; every acquisition attempt runs on the JS thread, so
// the JS thread is the owner and its robust list covers the mutex.
struct AsyncLock {
  Mapping* m;
  uint8_t* mu;
  napi_ref selfRef;
  napi_deferred deferred;
  napi_threadsafe_function tsfn;
  int64_t deadline;
  uint32_t sleepOn;
  int slot;
  int waitResult;
};

void StartLockWait(napi_env env, AsyncLock* a);

void FinishAsyncLock(napi_env env, AsyncLock* a, int r) {
  UnregisterWaiter(a->mu, a->slot);
  if (r != kLockOk && r != kLockAbandoned && !a->m->closed) PassWakeOn(a->mu);
  napi_resolve_deferred(env, a->deferred, I32(env, r));
  if (a->m->pendingWaits.fetch_sub(1) == 1 && a->m->closed) Unmap(a->m);
  napi_delete_reference(env, a->selfRef);
  napi_release_threadsafe_function(a->tsfn, napi_tsfn_release);
  delete a;
}

void LockWaitDone(napi_env env, napi_value, void*, void* data) {
  AsyncLock* a = static_cast<AsyncLock*>(data);
  if (!env) return;
  if (a->m->closed) return FinishAsyncLock(env, a, kLockMemoryFailed);
  if (a->waitResult == kWaitFailed) return FinishAsyncLock(env, a, kLockMemoryFailed);
  // The memory may have failed while the helper slept: never take a word over it.
  if (WordFailed(a->m, (uint64_t)(a->mu - a->m->base), kMutexSize)) return FinishAsyncLock(env, a, kLockMemoryFailed);
  std::string err;
  ThreadRobust* h = Robust(&err);
  uint32_t seen;
  int r = h ? TryAcquire(a->m, a->mu, h, true, &seen) : (int)kLockMemoryFailed;
  if (r != kLockBusy) return FinishAsyncLock(env, a, r);
  if (a->deadline >= 0 && MonoNs() >= a->deadline) return FinishAsyncLock(env, a, kLockTimedOut);
  a->sleepOn = ArmWait(a->mu, seen);
  StartLockWait(env, a);
}

void StartLockWait(napi_env, AsyncLock* a) {
  std::thread([a]() {
    a->waitResult = a->sleepOn ? WaitOnce(Word(a->mu), a->sleepOn, a->deadline) : kWaitNotEqual;
    napi_call_threadsafe_function(a->tsfn, a, napi_tsfn_blocking);
  }).detach();
}

napi_value MutexLockAsync(napi_env env, napi_callback_info info) {
  napi_value argv[4], self;
  Mapping* m;
  uint8_t* mu;
  ThreadRobust* h;
  bool failed, stale;
  if (!GetMutex(env, info, 2, argv, &m, &mu, &h, &failed, &stale, &self)) return nullptr;
  int64_t timeoutNs;
  if (!GetTimeout(env, argv[1], &timeoutNs)) return nullptr;
  napi_deferred deferred;
  napi_value promise;
  NAPI_OK(napi_create_promise(env, &deferred, &promise));
  uint32_t seen = 0;
  int r = stale ? (int)kLockStale : failed ? (int)kLockMemoryFailed : TryAcquire(m, mu, h, false, &seen);
  if (r != kLockBusy || timeoutNs == 0) {
    napi_resolve_deferred(env, deferred, I32(env, r == kLockBusy ? (int)kLockTimedOut : r));
    return promise;
  }
  AsyncLock* a = new AsyncLock();
  a->m = m;
  a->mu = mu;
  a->deferred = deferred;
  a->deadline = timeoutNs < 0 ? -1 : MonoNs() + timeoutNs;
  a->slot = RegisterWaiter(m, mu);
  a->sleepOn = ArmWait(mu, seen);
  NAPI_OK(napi_create_reference(env, self, 1, &a->selfRef));
  NAPI_OK(napi_create_threadsafe_function(env, nullptr, nullptr, Str(env, "mcs-gsm-lock"), 0, 1, nullptr,
                                          nullptr, a, LockWaitDone, &a->tsfn));
  m->pendingWaits.fetch_add(1);
  StartLockWait(env, a);
  return promise;
}

enum UnlockResult { kUnlockOk = 0, kUnlockNotOwner = 1, kUnlockMadeNotRecoverable = 2, kUnlockMemoryFailed = 3 };

int Unlock(ThreadRobust* h, Mapping* m, uint8_t* mu, bool failed) {
  uint32_t tid = (uint32_t)Tid();
  long i = FindHeld(h, m, (uint64_t)(mu - m->base));
  if (failed) {
    // The memory under a held mutex failed: forget it locally so this thread's
    // robust list never names failed (later re-initialised) memory. The word
    // itself is released underneath the failure model (its writes are dropped
    // for everyone else): the membership service reads it raw to know when the
    // failed contribution no longer houses a mutex a live thread has linked.
    if (i >= 0) RobustDequeueAt(h, (size_t)i);
    uint32_t v = __atomic_load_n(Word(mu), __ATOMIC_ACQUIRE);
    while ((v & FUTEX_TID_MASK) == tid &&
           !__atomic_compare_exchange_n(Word(mu), &v, 0u, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
    }
    // Its waiters would otherwise sleep out their whole timeout slice (a
    // recovery waits for them to back out): woken, each finds the memory failed.
    FutexWake(Word(mu), 2147483647);
    return kUnlockMemoryFailed;
  }
  if ((__atomic_load_n(Word(mu), __ATOMIC_ACQUIRE) & FUTEX_TID_MASK) != tid) {
    // Taken from us (an operator's force-release): it is no longer ours to keep
    // on the robust list, whose link in it may be overwritten from now on.
    if (i >= 0) RobustDequeueAt(h, (size_t)i);
    return kUnlockNotOwner;
  }
  bool notRecoverable = __atomic_load_n(U32At(mu, 4), __ATOMIC_ACQUIRE) == kStateInconsistent;
  if (notRecoverable) __atomic_store_n(U32At(mu, 4), kStateNotRecoverable, __ATOMIC_RELEASE);
  uint64_t held = Ticks() - __atomic_load_n(U64At(mu, 40), __ATOMIC_RELAXED);
  __atomic_store_n(U64At(mu, 64), __atomic_load_n(U64At(mu, 64), __ATOMIC_RELAXED) + held, __ATOMIC_RELAXED);
  uint64_t heldUs64 = (uint64_t)((double)held * gNsPerTick / 1000.0);
  uint32_t heldUs = (uint32_t)(heldUs64 > 0xffffffffULL ? 0xffffffffULL : heldUs64);
  if (heldUs > __atomic_load_n(U32At(mu, 60), __ATOMIC_RELAXED)) __atomic_store_n(U32At(mu, 60), heldUs, __ATOMIC_RELAXED);
  // Keep the word ours (via list_op_pending) until it is released, so a crash in
  // between still leaves the kernel able to mark it owner-died; the entry is
  // unlinked through the address it was linked with (the mapping it was locked by).
  uint8_t* linked = i >= 0 ? h->held[(size_t)i].mu() : mu;
  SetPending(h, linked);
  if (i >= 0) RobustDequeueAt(h, (size_t)i);
  uint32_t old = __atomic_exchange_n(Word(mu), 0u, __ATOMIC_ACQ_REL);
  SetPending(h, nullptr);
  // The owner fields are not cleared: they mean something only while the word
  // names a thread, and a kill between clearing them and the release would make
  // the next locker blame nobody.
  if (notRecoverable) FutexWake(Word(mu), 2147483647);
  else if (old & FUTEX_WAITERS) FutexWake(Word(mu), 1);
  return notRecoverable ? kUnlockMadeNotRecoverable : kUnlockOk;
}

// Releases the held entry `i` of this thread as owner-died: the next locker gets
// ABANDONED and the owner fields still name this holder, exactly as if it had
// died. For a holder that is giving the mutex up without having made the data
// consistent (closing its mapping, a namespace repair that failed).
void AbandonOwnAt(ThreadRobust* h, size_t i) {
  uint8_t* mu = h->held[i].mu();
  uint32_t tid = (uint32_t)Tid();
  SetPending(h, mu);
  RobustDequeueAt(h, i);
  uint32_t v = __atomic_load_n(Word(mu), __ATOMIC_ACQUIRE);
  while ((v & FUTEX_TID_MASK) == tid) {
    if (__atomic_compare_exchange_n(Word(mu), &v, (v & FUTEX_WAITERS) | FUTEX_OWNER_DIED, false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE)) {
      FutexWake(Word(mu), 1);
      break;
    }
  }
  SetPending(h, nullptr);
}

int AbandonHeldIn(Mapping* m) {
  ThreadRobust& t = RobustState();
  if (!t.head || m->base == nullptr) return 0;
  int n = 0;
  for (size_t i = t.held.size(); i-- > 0;) {
    if (t.held[i].m != m) continue;
    AbandonOwnAt(&t, i);
    n++;
  }
  return n;
}

// ---------------------------------------------------------------- V8 fast path

void V8Throw(v8::Isolate* iso, bool range, const char* code, const std::string& msg) {
  v8::Local<v8::Context> ctx = iso->GetCurrentContext();
  v8::Local<v8::String> text = v8::String::NewFromUtf8(iso, msg.c_str()).ToLocalChecked();
  v8::Local<v8::Value> err = range ? v8::Exception::RangeError(text) : v8::Exception::Error(text);
  err.As<v8::Object>()->Set(ctx, v8::String::NewFromUtf8Literal(iso, "code"), v8::String::NewFromUtf8(iso, code).ToLocalChecked()).Check();
  iso->ThrowException(err);
}

bool V8Index(const v8::FunctionCallbackInfo<v8::Value>& info, int i, uint64_t* out, const char* what) {
  v8::Local<v8::Value> v = info[i];
  if (!v->IsNumber()) {
    V8Throw(info.GetIsolate(), false, "ERR_GSM_ARG", std::string(what) + " must be a number");
    return false;
  }
  double d = v.As<v8::Number>()->Value();
  if (!(d >= 0) || d > 9007199254740991.0 || d != (double)(uint64_t)d) {
    V8Throw(info.GetIsolate(), true, "ERR_GSM_RANGE", std::string(what) + " must be a non-negative integer");
    return false;
  }
  *out = (uint64_t)d;
  return true;
}

// The common prologue of the V8 mutex calls: (offset, [guardOffset, guardValue]).
bool V8Mutex(const v8::FunctionCallbackInfo<v8::Value>& info, Mapping** mOut, uint8_t** muOut, ThreadRobust** hOut,
             bool* failed, bool* stale) {
  v8::Isolate* iso = info.GetIsolate();
  Mapping* m = static_cast<Mapping*>(info.Data().As<v8::External>()->Value());
  if (m->closed) {
    V8Throw(iso, false, "ERR_GSM_CLOSED", "GSM mapping " + m->name + " is closed");
    return false;
  }
  uint64_t off;
  if (info.Length() < 1) {
    V8Throw(iso, false, "ERR_GSM_ARG", "missing argument to mutex operation");
    return false;
  }
  if (!V8Index(info, 0, &off, "offset")) return false;
  if (off > m->size || kMutexSize > m->size - off || (off % 8) != 0) {
    V8Throw(iso, true, "ERR_GSM_RANGE", "GSM mutex at " + std::to_string(off) + " is outside the mapping or not 8-byte aligned");
    return false;
  }
  std::string err;
  ThreadRobust* h = Robust(&err);
  if (!h) {
    V8Throw(iso, false, "ERR_GSM_ROBUST", err);
    return false;
  }
  *stale = false;
  if (info.Length() >= 3) {
    uint64_t gOff, gVal;
    if (!V8Index(info, 1, &gOff, "guardOffset") || !V8Index(info, 2, &gVal, "guardValue")) return false;
    if (gOff > m->size - 4 || (gOff & 3) || gVal > 0xffffffffULL) {
      V8Throw(iso, true, "ERR_GSM_RANGE", "bad mutex guard");
      return false;
    }
    *stale = __atomic_load_n(reinterpret_cast<uint32_t*>(m->base + gOff), __ATOMIC_ACQUIRE) != (uint32_t)gVal;
  }
  *mOut = m;
  *muOut = m->base + off;
  *hOut = h;
  *failed = WordFailed(m, off, kMutexSize);
  return true;
}

// mutexTryLock(offset, [guardOffset, guardValue]): one attempt; a LockResult.
void V8MutexTryLock(const v8::FunctionCallbackInfo<v8::Value>& info) {
  Mapping* m;
  uint8_t* mu;
  ThreadRobust* h;
  bool failed, stale;
  if (!V8Mutex(info, &m, &mu, &h, &failed, &stale)) return;
  uint32_t seen;
  int r = stale ? kLockStale : failed ? kLockMemoryFailed : TryAcquire(m, mu, h, false, &seen);
  info.GetReturnValue().Set(r);
}

// mutexUnlock(offset): only the owning thread may unlock. Unlocking an abandoned
// (inconsistent) mutex without mutexConsistent first makes it not recoverable,
// like POSIX ENOTRECOVERABLE. An UnlockResult.
void V8MutexUnlock(const v8::FunctionCallbackInfo<v8::Value>& info) {
  Mapping* m;
  uint8_t* mu;
  ThreadRobust* h;
  bool failed, stale;
  if (!V8Mutex(info, &m, &mu, &h, &failed, &stale)) return;
  info.GetReturnValue().Set(Unlock(h, m, mu, failed));
}

// mutexConsistent(offset): the owner of an ABANDONED mutex declares the protected
// data repaired (POSIX pthread_mutex_consistent). Returns false if not owner or
// not inconsistent.
napi_value MutexConsistent(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  Mapping* m;
  uint8_t* mu;
  ThreadRobust* h;
  bool failed;
  if (!GetMutex(env, info, 1, argv, &m, &mu, &h, &failed)) return nullptr;
  napi_value r;
  bool ok = !failed && (__atomic_load_n(Word(mu), __ATOMIC_ACQUIRE) & FUTEX_TID_MASK) == (uint32_t)Tid();
  if (ok) {
    uint32_t st = kStateInconsistent;
    ok = __atomic_compare_exchange_n(U32At(mu, 4), &st, kStateConsistent, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
  }
  napi_get_boolean(env, ok, &r);
  return r;
}

// mutexAbandon(offset, tid): the membership service's fencing path. Once a node is
// declared failed and killed, any word still naming one of its threads is marked
// owner-died here (the kernel normally has done it already). Returns true if it
// changed the word.
napi_value MutexAbandon(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  Mapping* m;
  uint8_t* mu;
  ThreadRobust* h;
  bool failed;
  if (!GetMutex(env, info, 2, argv, &m, &mu, &h, &failed)) return nullptr;
  uint32_t tid;
  if (!GetU32(env, argv[1], &tid, "tid")) return nullptr;
  bool changed = false;
  long own = tid == (uint32_t)Tid() ? FindHeld(h, m, (uint64_t)(mu - m->base)) : -1;
  if (own >= 0) {
    // Our own: released as owner-died and unlinked from this thread's list.
    AbandonOwnAt(h, (size_t)own);
    changed = true;
  } else if (!failed && tid != 0) {
    uint32_t v = __atomic_load_n(Word(mu), __ATOMIC_ACQUIRE);
    while ((v & FUTEX_TID_MASK) == tid) {
      uint32_t nv = (v & FUTEX_WAITERS) | FUTEX_OWNER_DIED;
      if (__atomic_compare_exchange_n(Word(mu), &v, nv, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        changed = true;
        FutexWake(Word(mu), 1);
        break;
      }
    }
  }
  napi_value r;
  napi_get_boolean(env, changed, &r);
  return r;
}

// ---------------------------------------------------------------- configuration

napi_value ConfigureFailureModel(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5], self;
  void* data = nullptr;
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, &self, &data));
  Mapping* m = Unwrap(env, self, data);
  if (!m) return nullptr;
  uint64_t mapOff, counterOff, failableFrom;
  uint32_t cap, dummy;
  if (argc < 5 || !GetIndex(env, argv[0], &mapOff, "mapOffset") || !GetU32(env, argv[1], &cap, "capacity") ||
      !GetIndex(env, argv[2], &counterOff, "counterOffset") || !GetU32(env, argv[3], &dummy, "dummyByte") ||
      !GetIndex(env, argv[4], &failableFrom, "failableFrom"))
    return nullptr;
  if (mapOff + 16 + 16ULL * cap > failableFrom || counterOff + 8 > failableFrom)
    return ThrowRange(env, "the failed-region map and counter must lie below failableFrom");
  if (cap == 0 || cap > 64) return ThrowRange(env, "failed-region capacity must be 1..64");
  if (dummy > 255) return ThrowRange(env, "dummy byte must be 0..255");
  if (mapOff == 0 || !CheckRange(env, m, mapOff, 16 + 16ULL * cap, 8) || !CheckRange(env, m, counterOff, 8, 8))
    return nullptr;
  m->failMapOff = mapOff;
  m->failMapCap = cap;
  m->failCounterOff = counterOff;
  m->dummy = (uint8_t)dummy;
  m->failableFrom = failableFrom;
  return nullptr;
}

napi_value SetIdentity(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], self;
  void* data = nullptr;
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, &self, &data));
  Mapping* m = Unwrap(env, self, data);
  if (!m) return nullptr;
  uint32_t node, inc;
  if (argc < 2 || !GetU32(env, argv[0], &node, "node") || !GetU32(env, argv[1], &inc, "incarnation")) return nullptr;
  m->node = node;
  m->incarnation = inc;
  return nullptr;
}

napi_value IsAccessible(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], self;
  void* data = nullptr;
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, &self, &data));
  Mapping* m = Unwrap(env, self, data);
  uint64_t off, len;
  if (!m || argc < 2 || !GetIndex(env, argv[0], &off, "offset") || !GetIndex(env, argv[1], &len, "length") ||
      !CheckRange(env, m, off, len, 1))
    return nullptr;
  napi_value r;
  napi_get_boolean(env, !ForEachFailed(m, off, len, [](uint64_t, uint64_t) {}), &r);
  return r;
}

// loadRaw32(offset): a word read underneath the failed-memory model. Only for the
// membership service's own bookkeeping of a failed contribution (is a mutex there
// still linked by a live holder?); applications must see failed memory as failed.
napi_value LoadRaw32(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], self;
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, &self, nullptr));
  Mapping* m = Unwrap(env, self);
  uint64_t off;
  if (!m || argc < 1 || !GetIndex(env, argv[0], &off, "offset") || !CheckRange(env, m, off, 4, 4)) return nullptr;
  return U32(env, __atomic_load_n(reinterpret_cast<uint32_t*>(m->base + off), __ATOMIC_ACQUIRE));
}

napi_value ThreadId(napi_env env, napi_callback_info) { return U32(env, (uint32_t)Tid()); }

// ---------------------------------------------------------------- process exits

// The failure detector's wait: a pidfd becomes readable the moment its process
// exits, so a detector thread that sleeps in poll() on its nodes' pidfds
// between checks hears of a crash at once instead of at its next check.

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434  // the same number on every architecture (Linux 5.3)
#endif

// pidfdOpen(pid) -> fd, or -errno (-ESRCH: the process is gone already).
napi_value PidfdOpen(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  int32_t pid = 0;
  if (argc < 1 || napi_get_value_int32(env, argv[0], &pid) != napi_ok || pid <= 0) {
    napi_throw_range_error(env, nullptr, "pidfdOpen needs a pid > 0");
    return nullptr;
  }
  long fd = syscall(SYS_pidfd_open, (pid_t)pid, 0);
  napi_value r;
  napi_create_int32(env, fd < 0 ? -errno : (int32_t)fd, &r);
  return r;
}

// pidfdWait(fds, timeoutMs) -> the fds whose process has exited (empty on timeout).
// Blocks the calling thread: for a thread of its own (the detector's), never a
// node's or the supervisor's main thread.
napi_value PidfdWait(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  uint32_t n = 0;
  bool isArray = false;
  int32_t timeoutMs = 0;
  if (argc < 2 || napi_is_array(env, argv[0], &isArray) != napi_ok || !isArray || napi_get_array_length(env, argv[0], &n) != napi_ok ||
      n > 1024 || napi_get_value_int32(env, argv[1], &timeoutMs) != napi_ok || timeoutMs < 0 || timeoutMs > 60000) {
    napi_throw_range_error(env, nullptr, "pidfdWait needs an array of at most 1024 fds and a timeout of 0..60000 ms");
    return nullptr;
  }
  std::vector<struct pollfd> fds(n);
  for (uint32_t i = 0; i < n; i++) {
    napi_value v;
    int32_t fd = -1;
    NAPI_OK(napi_get_element(env, argv[0], i, &v));
    if (napi_get_value_int32(env, v, &fd) != napi_ok || fd < 0) {
      napi_throw_range_error(env, nullptr, "pidfdWait: an fd is not a non-negative integer");
      return nullptr;
    }
    fds[i] = {fd, POLLIN, 0};
  }
  // An interrupted poll returns early with nothing ready: the caller checks anyway.
  int ready = poll(fds.data(), n, timeoutMs);
  napi_value out;
  NAPI_OK(napi_create_array(env, &out));
  uint32_t k = 0;
  for (uint32_t i = 0; ready > 0 && i < n; i++)
    if (fds[i].revents) {
      napi_value v;
      napi_create_int32(env, fds[i].fd, &v);
      napi_set_element(env, out, k++, v);
    }
  return out;
}

// closeFd(fd): for pidfds from pidfdOpen.
napi_value CloseFd(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  int32_t fd = -1;
  if (argc >= 1 && napi_get_value_int32(env, argv[0], &fd) == napi_ok && fd >= 0) close(fd);
  return nullptr;
}

napi_value TicksNow(napi_env env, napi_callback_info) {
  napi_value r;
  napi_create_double(env, (double)Ticks(), &r);
  return r;
}

napi_value MonoNow(napi_env env, napi_callback_info) {
  napi_value r;
  napi_create_double(env, (double)MonoNs(), &r);
  return r;
}

// The calls on hot paths (locks, atomics, copies) are installed on each instance
// with the Mapping as function data, saving the napi_unwrap lookup per call.
napi_status InstallHotMethods(napi_env env, napi_value self, Mapping* m) {
  struct Hot {
    const char* name;
    napi_callback cb;
  } hot[] = {
      {"read", Copy<true>},          {"write", Copy<false>},       {"load32", Atomic32<kLoad>},
      {"store32", Atomic32<kStore>}, {"cas32", Atomic32<kCas>},    {"add32", Atomic32<kAdd>},
      {"load64n", Load64N},          {"store64n", Store64N<false>}, {"mutexLock", MutexLock},
      {"mutexLockAsync", MutexLockAsync},
  };
  // The uncontended lock path, as plain V8 callbacks (see the top of this file).
  // A napi_value is a V8 local handle: Node's N-API converts between them the
  // same way (v8impl::JsValueFromV8LocalValue).
  struct V8Hot {
    const char* name;
    v8::FunctionCallback cb;
  } v8hot[] = {{"mutexTryLock", V8MutexTryLock}, {"mutexUnlock", V8MutexUnlock}};
  v8::Isolate* iso = v8::Isolate::GetCurrent();
  v8::Local<v8::Context> ctx = iso->GetCurrentContext();
  for (const V8Hot& h : v8hot) {
    v8::Local<v8::Function> fn;
    if (!v8::Function::New(ctx, h.cb, v8::External::New(iso, m)).ToLocal(&fn)) return napi_generic_failure;
    napi_value value;
    static_assert(sizeof value == sizeof fn, "napi_value must be a V8 local handle");
    memcpy(&value, &fn, sizeof value);
    napi_property_descriptor d = {h.name, nullptr, nullptr, nullptr, nullptr, value, napi_default, nullptr};
    napi_status st = napi_define_properties(env, self, 1, &d);
    if (st != napi_ok) return st;
  }
  for (const Hot& h : hot) {
    napi_value fn;
    napi_status st = napi_create_function(env, h.name, NAPI_AUTO_LENGTH, h.cb, m, &fn);
    if (st != napi_ok) return st;
    napi_property_descriptor d = {h.name, nullptr, nullptr, nullptr, nullptr, fn, napi_default, nullptr};
    st = napi_define_properties(env, self, 1, &d);
    if (st != napi_ok) return st;
  }
  return napi_ok;
}

napi_value Init(napi_env env, napi_value exports) {
  CalibrateTicks();
  napi_value nsPerTick;
  napi_create_double(env, gNsPerTick, &nsPerTick);
  napi_property_descriptor methods[] = {
      {"close", nullptr, Close, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"size", nullptr, nullptr, GetSize, nullptr, nullptr, napi_default, nullptr},
      {"closed", nullptr, nullptr, GetClosed, nullptr, nullptr, napi_default, nullptr},
      {"read", nullptr, Copy<true>, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"write", nullptr, Copy<false>, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"load32", nullptr, Atomic32<kLoad>, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"store32", nullptr, Atomic32<kStore>, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"cas32", nullptr, Atomic32<kCas>, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"add32", nullptr, Atomic32<kAdd>, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"xchg32", nullptr, Atomic32<kXchg>, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"load64", nullptr, Atomic64<kLoad>, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"store64", nullptr, Atomic64<kStore>, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"cas64", nullptr, Atomic64<kCas>, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"add64", nullptr, Atomic64<kAdd>, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"xchg64", nullptr, Atomic64<kXchg>, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"load64n", nullptr, Load64N, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"store64n", nullptr, Store64N<false>, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"add64n", nullptr, Store64N<true>, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"wait32", nullptr, Wait32, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"wait32Async", nullptr, Wait32Async, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"wake32", nullptr, Wake32, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"mutexLock", nullptr, MutexLock, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"mutexLockAsync", nullptr, MutexLockAsync, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"mutexConsistent", nullptr, MutexConsistent, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"mutexAbandon", nullptr, MutexAbandon, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"configureFailureModel", nullptr, ConfigureFailureModel, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setIdentity", nullptr, SetIdentity, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"isAccessible", nullptr, IsAccessible, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"loadRaw32", nullptr, LoadRaw32, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_value ctor;
  NAPI_OK(napi_define_class(env, "Mapping", NAPI_AUTO_LENGTH, MappingCtor, nullptr,
                            sizeof methods / sizeof methods[0], methods, &ctor));
  napi_property_descriptor top[] = {
      {"Mapping", nullptr, nullptr, nullptr, nullptr, ctor, napi_default, nullptr},
      {"unlink", nullptr, Unlink, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"threadId", nullptr, ThreadId, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"pidfdOpen", nullptr, PidfdOpen, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"pidfdWait", nullptr, PidfdWait, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"closeFd", nullptr, CloseFd, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"monotonicNs", nullptr, MonoNow, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"ticks", nullptr, TicksNow, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"MUTEX_SIZE", nullptr, nullptr, nullptr, nullptr, U32(env, (uint32_t)kMutexSize), napi_default, nullptr},
      {"NS_PER_TICK", nullptr, nullptr, nullptr, nullptr, nsPerTick, napi_default, nullptr},
      {"MUTEX_WAITER_SLOTS", nullptr, nullptr, nullptr, nullptr, U32(env, kWaiterSlots), napi_default, nullptr},
  };
  NAPI_OK(napi_define_properties(env, exports, sizeof top / sizeof top[0], top));
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
