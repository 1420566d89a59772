#include "pool.h"

#include <chrono>

namespace fw {

static inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

Pool& pool() {
  static Pool p;
  return p;
}

void Pool::resize(int n) {
  if (n < 1) n = 1;
  // Wait until no job runs (another JS thread may be using the pool).
  while (busy_.exchange(true, std::memory_order_acquire)) std::this_thread::yield();
  if (n == (int)workers_.size() + 1) {
    busy_.store(false, std::memory_order_release);
    return;
  }
  // Stop every worker, then start n-1 fresh ones.
  stop_.store(true, std::memory_order_seq_cst);
  {
    std::lock_guard<std::mutex> lk(mu_);
    cv_.notify_all();
  }
  for (auto& t : workers_) t.join();
  workers_.clear();
  stop_.store(false);
  for (int i = 1; i < n; i++) workers_.emplace_back([this] { loop(); });
  size_.store(n, std::memory_order_relaxed);
  busy_.store(false, std::memory_order_release);
}

void Pool::dispatch(int64_t ntasks, Job* fn) {
  job_.store(fn, std::memory_order_relaxed);
  ntasks_.store(ntasks, std::memory_order_relaxed);
  done_.store(0, std::memory_order_relaxed);
  uint64_t gen = (state_.load(std::memory_order_relaxed) >> 32) + 1;
  uint64_t s = gen << 32;
  state_.store(s, std::memory_order_seq_cst);  // publishes the job
  if (sleepers_.load(std::memory_order_seq_cst) > 0) {
    std::lock_guard<std::mutex> lk(mu_);
    cv_.notify_all();
  }
  work(s);
  // Wait for the tasks other threads claimed; yield once it takes long (a
  // busy machine may have descheduled the worker).
  for (unsigned spins = 0; done_.load(std::memory_order_acquire) < ntasks; spins++) {
    if (spins < 20000) cpu_relax();
    else std::this_thread::yield();
  }
}

void Pool::work(uint64_t s) {
  const uint64_t gen = s >> 32;
  Job* fn = job_.load(std::memory_order_relaxed);
  const int64_t n = ntasks_.load(std::memory_order_relaxed);
  for (;;) {
    if ((s >> 32) != gen || (int64_t)(uint32_t)s >= n) return;
    if (state_.compare_exchange_weak(s, s + 1, std::memory_order_acq_rel, std::memory_order_acquire)) {
      // The claim succeeded, so job `gen` is still running and fn, n are its own.
      (*fn)((int64_t)(uint32_t)s);
      done_.fetch_add(1, std::memory_order_release);
      s = state_.load(std::memory_order_acquire);
    }
  }
}

void Pool::loop() {
  uint64_t seen = state_.load(std::memory_order_acquire) >> 32;
  for (;;) {
    uint64_t s;
    auto t0 = std::chrono::steady_clock::now();
    unsigned spins = 0;
    while (((s = state_.load(std::memory_order_acquire)) >> 32) == seen) {
      if (stop_.load(std::memory_order_relaxed)) return;
      if ((++spins & 1023) == 0 &&
          std::chrono::steady_clock::now() - t0 > std::chrono::microseconds(spin_us_)) {
        std::unique_lock<std::mutex> lk(mu_);
        sleepers_.fetch_add(1, std::memory_order_seq_cst);
        while ((state_.load(std::memory_order_seq_cst) >> 32) == seen && !stop_.load()) cv_.wait(lk);
        sleepers_.fetch_sub(1, std::memory_order_seq_cst);
        t0 = std::chrono::steady_clock::now();
      } else {
        cpu_relax();
      }
    }
    seen = s >> 32;
    work(s);
  }
}

}  // namespace fw
