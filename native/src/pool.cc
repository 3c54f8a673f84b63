// The worker pool behind parallel_for: workers spin briefly after each job (an MLP step issues GEMMs a few hundred µs apart), then sleep.
#include "pool.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <pthread.h>
#include <thread>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
static inline void relax() { _mm_pause(); }
#else
static inline void relax() { std::this_thread::yield(); }
#endif

namespace tg {
namespace {

/** How long an idle worker spins before it sleeps: longer than the gaps between the GEMMs of one training step. */
long spin_us() {
  const char* env = std::getenv("TRACEGRAD_NATIVE_SPIN_US");
  return env && *env ? std::strtol(env, nullptr, 10) : 1000;
}
const auto SPIN = std::chrono::microseconds(spin_us());
constexpr int MAX_THREADS = 64;

/*
 * One job at a time. `claim` packs the job's generation (high 32 bits) with the next unclaimed task (low 32 bits), so
 * a worker that read an older job's fields can never claim a task of a newer job: its compare-exchange expects the
 * old generation. The fields are atomics only so that such a stale read is not a data race; a claim that succeeds
 * proves they belong to the claimed generation (the caller rewrites them only after every task is done).
 */
std::atomic<TaskFn> job_fn{nullptr};
std::atomic<void*> job_context{nullptr};
std::atomic<long> job_tasks{0};
std::atomic<uint64_t> claim{0};
std::atomic<long> done{0};

// Never destroyed: at exit, glibc's condition-variable destructor would wait for the sleeping workers forever.
std::mutex& caller = *new std::mutex;  // held by the thread whose job is running (try_lock: a second caller runs serially)
std::mutex& sleep_lock = *new std::mutex;
std::condition_variable& wake = *new std::condition_variable;
std::atomic<int> sleepers{0};
int started = 0;  // workers started (guarded by `caller`)

int configured() {
  const char* env = std::getenv("TRACEGRAD_NATIVE_THREADS");
  long n = env && *env ? std::strtol(env, nullptr, 10) : 0;
  if (n <= 0) {
    n = (long)std::thread::hardware_concurrency();
    if (n > 8) n = 8;
  }
  if (n < 1) n = 1;
  return n > MAX_THREADS ? MAX_THREADS : (int)n;
}
std::atomic<int> threads{configured()};

/** Claims and runs tasks of generation `gen` until none is left; returns how many it ran. */
long run_tasks(uint64_t gen) {
  long ran = 0;
  for (;;) {
    uint64_t w = claim.load(std::memory_order_acquire);
    if ((w >> 32) != gen) return ran;
    const TaskFn fn = job_fn.load(std::memory_order_relaxed);
    void* const context = job_context.load(std::memory_order_relaxed);
    const long tasks = job_tasks.load(std::memory_order_relaxed);
    const long next = (long)(w & 0xffffffffu);
    if (next >= tasks) return ran;
    if (!claim.compare_exchange_weak(w, w + 1, std::memory_order_acq_rel)) continue;
    fn(context, next);
    done.fetch_add(1, std::memory_order_release);
    ran++;
  }
}

void worker() {
  uint64_t seen = claim.load(std::memory_order_acquire) >> 32;
  for (;;) {
    auto since = std::chrono::steady_clock::now();
    for (int spins = 0;; spins++) {
      const uint64_t gen = claim.load(std::memory_order_acquire) >> 32;
      if (gen != seen) {
        seen = gen;
        run_tasks(gen);
        since = std::chrono::steady_clock::now();
        continue;
      }
      relax();
      if ((spins & 255) == 255 && std::chrono::steady_clock::now() - since > SPIN) break;
    }
    // sleep until a new generation; the caller notifies whenever it sees a sleeper (both counters are seq_cst)
    std::unique_lock<std::mutex> lock(sleep_lock);
    sleepers.fetch_add(1);
    wake.wait(lock, [&] { return (claim.load() >> 32) != seen; });
    sleepers.fetch_sub(1);
  }
}

}  // namespace

int pool_threads() { return threads.load(std::memory_order_relaxed); }

void set_pool_threads(int n) { threads.store(n < 1 ? 1 : n > MAX_THREADS ? MAX_THREADS : n); }

void parallel_for(long tasks, TaskFn fn, void* context) {
  const int want = pool_threads();
  std::unique_lock<std::mutex> mine(caller, std::try_to_lock);
  if (want < 2 || tasks < 2 || tasks > 0x7fffffffL || !mine.owns_lock()) {
    for (long t = 0; t < tasks; t++) fn(context, t);
    return;
  }
  // workers are started once and live as long as the process (detached: nothing joins them at exit)
  for (; started < want - 1; started++) {
    // 2 MB of stack: the fused evaluator keeps 64 KB of blocks on it (musl's default thread stack is 128 KB)
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 2 << 20);
    pthread_t id;
    const int failed = pthread_create(&id, &attr, [](void*) -> void* { worker(); return nullptr; }, nullptr);
    pthread_attr_destroy(&attr);
    if (failed != 0) break;  // run with the workers there are
    pthread_detach(id);
  }
  job_fn.store(fn, std::memory_order_relaxed);
  job_context.store(context, std::memory_order_relaxed);
  job_tasks.store(tasks, std::memory_order_relaxed);
  done.store(0, std::memory_order_relaxed);
  const uint64_t gen = (claim.load(std::memory_order_relaxed) >> 32) + 1;
  claim.store(gen << 32);  // seq_cst: publishes the fields, and orders against the sleepers check below
  if (sleepers.load() > 0) {
    std::lock_guard<std::mutex> lock(sleep_lock);
    wake.notify_all();
  }
  run_tasks(gen);
  while (done.load(std::memory_order_acquire) < tasks) relax();
}

}  // namespace tg
