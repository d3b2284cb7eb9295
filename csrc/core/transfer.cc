#include "transfer.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <chrono>
#include <utility>

#include "../devices/js_device.h"
#include "glue/glue.h"
#include "worker_pool.h"

namespace xfa {

namespace {
uint64_t now_ns() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
          .count());
}

bool can_move(XferState from, XferState to) {
  switch (to) {
    case XferState::kStart: return from == XferState::kInit;
    case XferState::kRunning: return from == XferState::kStart;
    case XferState::kCancelling: return from == XferState::kStart || from == XferState::kRunning;
    case XferState::kCancelled: return from == XferState::kCancelling;
    case XferState::kDone: return from != XferState::kDone;
    default: return false;
  }
}
}  // namespace

const char* state_name(XferState s) {
  switch (s) {
    case XferState::kInit: return "INIT";
    case XferState::kStart: return "START";
    case XferState::kRunning: return "RUNNING";
    case XferState::kCancelling: return "CANCELLING";
    case XferState::kCancelled: return "CANCELLED";
    case XferState::kDone: return "DONE";
  }
  return "?";
}

Transfer::Transfer(std::vector<std::unique_ptr<Element>> chain, TransferOptions opts,
                   std::shared_ptr<MessageSink> sink)
    : user_(std::move(chain)), opts_(opts), sink_(std::move(sink)) {
  cancel_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
}

Transfer::~Transfer() {
  if (cancel_fd_ >= 0) ::close(cancel_fd_);
}


XferState Transfer::state() const {
  std::lock_guard<std::mutex> lk(mu_);
  return state_;
}

void Transfer::set_state(XferState s) {
  std::lock_guard<std::mutex> lk(mu_);
  move_state_locked(s);
}

void Transfer::move_state_locked(XferState s) {
  if (!can_move(state_, s)) return;
  state_ = s;
  sink_->post(Message(MsgType::kState, "", -1).set("state", std::string(state_name(s))));
}

void Transfer::post(Message m) {
  if (done_posted_.load(std::memory_order_acquire)) return;  // nothing may follow `done`
  sink_->post(std::move(m));
}

void Transfer::start() {
  set_state(XferState::kStart);
  if (!link_and_setup()) {
    finalize();
    return;
  }
  size_t n = 0;
  for (uint32_t t : threads_of_) n += t;
  auto self = shared_from_this();
  const uint64_t ticket = WorkerPool::instance().submit(n, [self] { return self->launch(); });
  if (ticket == 0) {
    fail(nullptr, plain_error("start", "needs " + std::to_string(n) + " threads but the worker pool has only " +
                                           std::to_string(WorkerPool::instance().stats().max_threads) +
                                           " (XFA_MAX_THREADS)"));
    finalize();
    return;
  }
  ticket_.store(ticket);
  // A cancel that raced with submit() could not withdraw the group; try again now.
  if (cancelled() && WorkerPool::instance().withdraw(ticket)) finalize();
}

bool Transfer::link_and_setup() {
  std::vector<MechPairs> pairs;
  std::vector<std::string> names;
  for (size_t i = 0; i < user_.size(); ++i) {
    pairs.push_back(user_[i]->mech_pairs());
    names.push_back(i < opts_.names.size() && !opts_.names[i].empty() ? opts_.names[i]
                                                                       : user_[i]->kind() + "#" + std::to_string(i + 1));
  }
  auto linked = link_chain(pairs, names, glue_pairs(), opts_.force_glue);
  if (auto* err = std::get_if<Error>(&linked)) {
    err->element = "xfer";
    fail(nullptr, *err);
    return false;
  }
  const Linkage& lk = std::get<Linkage>(linked);
  linkage_text_ = lk.describe(names);
  size_t bs = opts_.block_size;
  for (auto& e : user_) bs = std::max(bs, e->preferred_block_size());
  for (size_t i = 0; i < user_.size(); ++i) {
    const LinkStep& st = lk.steps[i];
    user_[i]->attach(this, static_cast<int>(i), names[i], st.pair.in, st.pair.out, bs);
    chain_.push_back(user_[i].get());
    threads_of_.push_back(st.pair.threads);
    if (!st.glue) continue;
    glue_.push_back(make_glue(st.glue_pair.in, st.glue_pair.out));
    Element* g = glue_.back().get();
    g->attach(this, -1, g->kind() + "#" + std::to_string(i + 1), st.glue_pair.in, st.glue_pair.out, bs);
    chain_.push_back(g);
    threads_of_.push_back(st.glue_pair.threads);
  }
  post(Message(MsgType::kLinkage, "", -1).set("message", linkage_text_).set("copies", int64_t{lk.cost.copies})
           .set("allocs", int64_t{lk.cost.allocs}).set("threads", int64_t{lk.cost.threads}));
  for (Element* e : chain_) {
    if (Status s = e->setup()) {
      fail(e, *s);
      return false;
    }
  }
  for (size_t i = 0; i < chain_.size(); ++i)
    chain_[i]->connect(i > 0 ? chain_[i - 1] : nullptr, i + 1 < chain_.size() ? chain_[i + 1] : nullptr);
  progress_prev_.assign(user_.size(), 0);
  return true;
}

std::vector<std::function<void()>> Transfer::launch() {
  std::vector<std::function<void()>> jobs;
  if (cancelled()) {
    finalize();
    return jobs;
  }
  for (size_t i = chain_.size(); i-- > 0;) {
    if (Status s = chain_[i]->start()) {
      fail(chain_[i], *s);
      finalize();
      return jobs;
    }
  }
  auto self = shared_from_this();
  for (size_t i = 0; i < chain_.size(); ++i) {
    for (uint32_t t = 0; t < threads_of_[i]; ++t) {
      Element* e = chain_[i];
      jobs.push_back([self, e, t] {
        // Devices that wait for JavaScript (js_device.h) wake on this transfer's cancel.
        ThreadCancelFd cancel_scope(self->cancel_fd_);
        const uint64_t t0 = now_ns();
        e->run(static_cast<int>(t));
        e->add_busy_ns(now_ns() - t0);
        self->thread_finished();
      });
    }
  }
  active_.store(static_cast<int>(jobs.size()));
  set_state(XferState::kRunning);
  if (jobs.empty()) finalize();
  return jobs;
}

void Transfer::thread_finished() {
  if (active_.fetch_sub(1, std::memory_order_acq_rel) == 1) finalize();
}

void Transfer::fail(const Element* who, Error e) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (failed_ || cancelled()) return;  // only the first failure; later ones are consequences
    failed_ = true;
    if (e.element.empty()) e.element = who ? who->name() : "xfer";
    Message m(MsgType::kError, e.element, who ? who->index() : -1);
    m.set("message", e.to_string()).set("op", e.op).set("errno", int64_t{e.err});
    if (e.err != 0 && errno_name(e.err)) m.set("code", std::string(errno_name(e.err)));
    sink_->post(std::move(m));
  }
  cancel_locked();
}

void Transfer::cancel() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (finalizing_ && !failed_) return;  // every thread has ended: too late to cancel
  }
  cancel_locked();
}

void Transfer::cancel_locked() {
  {
    // The cancel message and CANCELLING are posted before any thread can see the flag, so a
    // worker that ends because of it cannot finalize (and post `done`) ahead of them.
    std::lock_guard<std::mutex> lk(mu_);
    if (cancelled() || state_ == XferState::kDone) return;
    sink_->post(Message(MsgType::kCancel, "", -1));
    move_state_locked(XferState::kCancelling);
    cancelled_.store(true, std::memory_order_release);
    const uint64_t one = 1;
    if (cancel_fd_ >= 0 && ::write(cancel_fd_, &one, sizeof one) < 0) {
      // An eventfd write only fails on counter overflow; the fd stays readable either way.
    }
  }
  for (Element* e : chain_) e->unblock();
  set_state(XferState::kCancelled);  // finalize() posts it first if it gets there before us
  const uint64_t ticket = ticket_.load();
  if (ticket != 0 && WorkerPool::instance().withdraw(ticket)) finalize();
}

void Transfer::finalize() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (finalizing_) return;
    finalizing_ = true;
  }
  bool ok_so_far = !cancelled();
  for (size_t i = chain_.size(); ok_so_far && i-- > 0;) {
    if (Status s = chain_[i]->commit()) {
      fail(chain_[i], *s);
      ok_so_far = false;
    }
  }
  if (!ok_so_far) {
    for (size_t i = chain_.size(); i-- > 0;) chain_[i]->abort();
  }
  for (size_t i = chain_.size(); i-- > 0;) chain_[i]->close();
  // Nothing can wait on the cancel fd any more, and a late cancel() is a no-op: release it now
  // rather than when JavaScript garbage-collects the transfer.
  {
    std::lock_guard<std::mutex> lk(mu_);
    ::close(std::exchange(cancel_fd_, -1));
  }
  for (auto& e : user_) {
    post(e->msg(MsgType::kStats).set("bytes_in", static_cast<int64_t>(e->bytes_in()))
             .set("bytes_out", static_cast<int64_t>(e->bytes_out()))
             .set("busy", static_cast<double>(e->busy_ns()) / 1e9));
  }
  set_state(XferState::kCancelled);  // if a cancel is still on its way out of cancel_locked()
  set_state(XferState::kDone);
  sink_->post(Message(MsgType::kDone, "", -1));
  done_posted_.store(true, std::memory_order_release);
  sink_->close();
}

void Transfer::note_progress() {
  if (opts_.progress_ms == 0) return;
  const uint64_t now = now_ns();
  uint64_t last = last_progress_ns_.load(std::memory_order_relaxed);
  if (now - last < uint64_t{opts_.progress_ms} * 1000000u) return;
  if (!last_progress_ns_.compare_exchange_strong(last, now)) return;
  if (last == 0) return;  // the first call only starts the clock
  post_progress(now - last);
}

void Transfer::post_progress(uint64_t dt_ns) {
  std::unique_lock<std::mutex> lk(progress_mu_, std::try_to_lock);
  if (!lk.owns_lock()) return;
  for (size_t i = 0; i < user_.size(); ++i) {
    const Element* e = user_[i].get();
    const uint64_t out = e->bytes_out() ? e->bytes_out() : e->bytes_in();
    const double rate = static_cast<double>(out - progress_prev_[i]) * 1e9 / static_cast<double>(dt_ns);
    progress_prev_[i] = out;
    post(e->msg(MsgType::kProgress).set("bytes_in", static_cast<int64_t>(e->bytes_in()))
             .set("bytes_out", static_cast<int64_t>(e->bytes_out())).set("rate", rate));
  }
}

}  // namespace xfa
