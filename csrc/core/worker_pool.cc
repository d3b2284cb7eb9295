#include "worker_pool.h"

#include <pthread.h>

#include <cstdlib>
#include <string>

namespace xfa {

WorkerPool& WorkerPool::instance() {
  static WorkerPool* pool = [] {
    const char* env = std::getenv("XFA_MAX_THREADS");
    const long n = env ? std::strtol(env, nullptr, 10) : 0;
    return new WorkerPool(n > 0 ? static_cast<size_t>(n) : 64);  // lives as long as the process
  }();
  return *pool;
}

WorkerPool::WorkerPool(size_t max_threads) : max_threads_(max_threads) {}

WorkerPool::~WorkerPool() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

uint64_t WorkerPool::submit(size_t n, OnGranted on_granted) {
  if (n > max_threads_) return 0;
  uint64_t ticket;
  {
    std::lock_guard<std::mutex> lk(mu_);
    ticket = next_ticket_++;
    if (!waiting_.empty() || reserved_ + n > max_threads_) {
      waiting_.push_back({ticket, n, std::move(on_granted)});
      return ticket;
    }
    reserved_ += n;
  }
  run_granted(n, std::move(on_granted));
  return ticket;
}

bool WorkerPool::withdraw(uint64_t ticket) {
  std::lock_guard<std::mutex> lk(mu_);
  for (auto it = waiting_.begin(); it != waiting_.end(); ++it) {
    if (it->ticket == ticket) {
      waiting_.erase(it);
      return true;
    }
  }
  return false;
}

void WorkerPool::run_granted(size_t n, OnGranted on_granted) {
  std::vector<Job> jobs = on_granted();
  std::vector<Waiting> granted;
  {
    std::lock_guard<std::mutex> lk(mu_);
    const size_t unused = n - std::min(n, jobs.size());
    reserved_ -= unused;
    for (auto& j : jobs) jobs_.push_back(std::move(j));
    // Enough threads for every queued job: reserved never exceeds max_threads_.
    while (idle_ < jobs_.size() && threads_.size() < max_threads_) {
      const size_t id = threads_.size();
      threads_.emplace_back([this, id] { worker_main(id); });
      ++idle_;
    }
    cv_.notify_all();
    if (unused > 0) granted = grant_waiting_locked();
  }
  for (auto& w : granted) run_granted(w.n, std::move(w.on_granted));
}

std::vector<WorkerPool::Waiting> WorkerPool::grant_waiting_locked() {
  std::vector<Waiting> granted;
  while (!waiting_.empty() && reserved_ + waiting_.front().n <= max_threads_) {
    reserved_ += waiting_.front().n;
    granted.push_back(std::move(waiting_.front()));
    waiting_.pop_front();
  }
  return granted;
}

void WorkerPool::worker_main(size_t id) {
  const std::string name = "xfa-w-" + std::to_string(id);
  pthread_setname_np(pthread_self(), name.c_str());
  std::unique_lock<std::mutex> lk(mu_);
  for (;;) {
    cv_.wait(lk, [&] { return stopping_ || !jobs_.empty(); });
    if (stopping_) return;
    Job job = std::move(jobs_.front());
    jobs_.pop_front();
    --idle_;
    ++busy_;
    lk.unlock();
    job();
    job = nullptr;  // drop captured state before the reservation is returned
    finish_job();
    lk.lock();
    --busy_;
    ++idle_;
  }
}

void WorkerPool::finish_job() {
  std::vector<Waiting> granted;
  {
    std::lock_guard<std::mutex> lk(mu_);
    --reserved_;
    granted = grant_waiting_locked();
  }
  for (auto& w : granted) run_granted(w.n, std::move(w.on_granted));
}

WorkerPool::Stats WorkerPool::stats() const {
  std::lock_guard<std::mutex> lk(mu_);
  return {max_threads_, threads_.size(), busy_, reserved_, waiting_.size()};
}

}  // namespace xfa
