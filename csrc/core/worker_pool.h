// xfa's own worker pool: named threads (xfa-w-N), separate from libuv's pool so long-running
// blocking transfers never starve Node's fs/dns work.
//
// A transfer asks for all of its threads at once (submit). The group starts only when that many
// threads are free; otherwise it waits in FIFO order behind earlier groups — a transfer is never
// half-started, and two transfers can never deadlock each other holding half their threads.
// Threads are created on demand up to the limit (XFA_MAX_THREADS, default 64) and then kept.
//
// Lock order: WorkerPool::mu_ is a leaf lock. on_granted and jobs are always called without it.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace xfa {

class WorkerPool {
 public:
  using Job = std::function<void()>;
  // Called once the group's threads are reserved, on the thread that reserved them (the caller of
  // submit(), or a worker that just finished a job). Returns at most n jobs to run now; any
  // reservation it does not use is given back.
  using OnGranted = std::function<std::vector<Job>()>;

  static WorkerPool& instance();
  explicit WorkerPool(size_t max_threads);
  ~WorkerPool();

  // Returns a ticket, or 0 if n can never be satisfied (n > max_threads).
  uint64_t submit(size_t n, OnGranted on_granted);
  // Removes a waiting group. true if it was still waiting (on_granted will never be called).
  bool withdraw(uint64_t ticket);

  struct Stats {
    size_t max_threads;
    size_t threads;  // created so far
    size_t busy;     // running a job
    size_t reserved; // granted to groups (busy + about to run)
    size_t waiting;  // groups waiting for threads
  };
  Stats stats() const;

 private:
  struct Waiting {
    uint64_t ticket;
    size_t n;
    OnGranted on_granted;
  };
  void worker_main(size_t id);
  void run_granted(size_t n, OnGranted on_granted);
  void finish_job();
  std::vector<Waiting> grant_waiting_locked();

  const size_t max_threads_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> jobs_;
  std::deque<Waiting> waiting_;
  std::vector<std::thread> threads_;
  size_t idle_ = 0;
  size_t busy_ = 0;
  size_t reserved_ = 0;
  uint64_t next_ticket_ = 1;
  bool stopping_ = false;
};

}  // namespace xfa
