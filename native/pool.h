// A tiny persistent thread pool: the calling (JS main) thread plus
// nthreads-1 workers. Workers spin briefly after each job (a wake-up from a
// condition variable costs tens of microseconds; spinning costs ~0.2 µs),
// then sleep on a condition variable.
//
// One job at a time, issued from one thread (N-API calls are synchronous
// on the JS thread). A job is fn(task) for task in [0, ntasks), handed out
// through an atomic counter so uneven tasks balance.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace fw {

class Pool {
 public:
  // Number of threads that run jobs, including the caller.
  int size() const { return size_.load(std::memory_order_relaxed); }

  // Grows or shrinks the pool to n threads in total (n >= 1).
  void resize(int n);

  // Runs fn(task) for every task in [0, ntasks); returns when all are done.
  // Runs inline when ntasks <= 1 or the pool has one thread.
  // Also runs inline when another thread (a Node worker) is using the pool.
  template <class F>
  void run(int64_t ntasks, F&& fn) {
    if (ntasks <= 0) return;
    if (ntasks == 1 || size() == 1 || busy_.exchange(true, std::memory_order_acquire)) {
      for (int64_t t = 0; t < ntasks; t++) fn(t);
      return;
    }
    std::function<void(int64_t)> f(std::ref(fn));
    dispatch(ntasks, &f);
    busy_.store(false, std::memory_order_release);
  }

  // How long an idle worker spins before it sleeps.
  void set_spin_us(int us) { spin_us_ = us; }

  ~Pool() { resize(1); }

 private:
  using Job = std::function<void(int64_t)>;
  void dispatch(int64_t ntasks, Job* fn);
  void work(uint64_t s);             // claims and runs tasks of the job in state s
  void loop();                       // a worker's main loop

  std::vector<std::thread> workers_;
  // state_ = (generation << 32) | next task index. A task is claimed by a
  // CAS on the whole word, so a late worker can never claim a task of a job
  // that has already finished.
  std::atomic<uint64_t> state_{0};
  std::atomic<Job*> job_{nullptr};
  std::atomic<int64_t> ntasks_{0};
  std::atomic<int64_t> done_{0};     // tasks finished in the current job
  std::atomic<int> sleepers_{0};
  std::atomic<bool> stop_{false};
  std::atomic<bool> busy_{false};     // a job (or a resize) is running
  std::atomic<int> size_{1};
  int spin_us_ = 200;
  std::mutex mu_;
  std::condition_variable cv_;
};

// The process-wide pool the kernels share.
Pool& pool();

// How a parallel_for cuts [0, n): into chunks of at least `grain` items, at
// most kMaxChunks of them (several per thread, so a thread that gets
// descheduled on a busy machine leaves work for the others). The cut is a
// function of n and grain only, never of the thread count: a kernel whose
// chunks add partial sums, or whose vector loops start at a chunk's first
// item, then gives the same bits on any number of threads.
const int64_t kMaxChunks = 32;

inline int64_t num_chunks(int64_t n, int64_t grain, int64_t max_chunks = kMaxChunks) {
  if (grain < 1) grain = 1;
  if (n < 2 * grain) return 1;
  return n / grain < max_chunks ? n / grain : max_chunks;
}

// Runs fn(begin, end) on each chunk of [0, n) (see num_chunks), in parallel;
// on one thread, or with one chunk, in order on the caller.
template <class F>
void parallel_for(int64_t n, int64_t grain, F&& fn) {
  if (n <= 0) return;
  const int64_t nchunks = num_chunks(n, grain), per = (n + nchunks - 1) / nchunks;
  pool().run(nchunks, [&](int64_t c) {
    int64_t b = c * per, e = b + per < n ? b + per : n;
    if (b < e) fn(b, e);
  });
}

}  // namespace fw
