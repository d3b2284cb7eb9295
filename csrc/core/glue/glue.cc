#include "glue.h"

#include <fcntl.h>
#include <cerrno>
#include <unistd.h>

#include "../fdio.h"

namespace xfa {

namespace {
bool is_fd(Mech m) { return m == Mech::kReadFd || m == Mech::kWriteFd; }
// Copies a byte costs on one side of a glue: reading a neighbour's fd is one, a pipe of our own
// adds one more.
uint32_t side_copies(Mech m, bool input) {
  if (!is_fd(m)) return 0;
  const bool own_pipe = input ? m == Mech::kWriteFd : m == Mech::kReadFd;
  return own_pipe ? 2 : 1;
}

MechPair pair_for(Mech in, Mech out) {
  if (in == Mech::kWriteFd && out == Mech::kReadFd) return {in, out, 1, 0, 0};
  const uint32_t c = side_copies(in, true) + side_copies(out, false);
  if (is_fd(in) && is_fd(out)) return {in, out, c - 1, 0, 1};  // the kernel moves it in one pass
  const bool threaded = in != Mech::kPushBuffer && out != Mech::kPullBuffer;
  return {in, out, c, 0, threaded ? 1u : 0u};
}

constexpr Mech kAll[] = {Mech::kReadFd, Mech::kWriteFd, Mech::kPullBuffer, Mech::kPushBuffer};
}  // namespace

const MechPairs& glue_pairs() {
  static const MechPairs pairs = [] {
    MechPairs p;
    for (Mech in : kAll)
      for (Mech out : kAll) p.push_back(pair_for(in, out));
    return p;
  }();
  return pairs;
}

std::unique_ptr<Element> make_glue(Mech in, Mech out) {
  if (in == Mech::kWriteFd && out == Mech::kReadFd) return make_pipe_glue(in, out);
  if (is_fd(in) && is_fd(out)) return make_fd_copy_glue(in, out);
  if (in == Mech::kPushBuffer && out == Mech::kPullBuffer) return make_queue_glue(in, out);
  if (in == Mech::kPushBuffer) return make_push_glue(in, out);
  if (out == Mech::kPullBuffer) return make_pull_glue(in, out);
  return make_pump_glue(in, out);
}

GlueBase::GlueBase(Mech in, Mech out) : Element("glue"), pair_(pair_for(in, out)) {}

GlueBase::~GlueBase() { GlueBase::close(); }

void GlueBase::close_fd(std::atomic<int>& fd) {
  const int f = fd.exchange(-1);
  if (f >= 0) ::close(f);
}

void GlueBase::close() {
  close_fd(in_r_);
  close_fd(in_w_);
  close_fd(out_r_);
  close_fd(out_w_);
}

Status GlueBase::setup() {
  int p[2];
  if (pair_.in == Mech::kWriteFd) {
    if (pipe2(p, O_CLOEXEC) != 0) return sys_error("pipe", errno);
    in_r_ = p[0];
    in_w_ = p[1];
    if (pair_.out != Mech::kReadFd) set_nonblocking(p[0], true);
  }
  if (pair_.out == Mech::kReadFd && pair_.in != Mech::kWriteFd) {
    if (pipe2(p, O_CLOEXEC) != 0) return sys_error("pipe", errno);
    out_r_ = p[0];
    out_w_ = p[1];
    set_nonblocking(p[1], true);
  }
  if (pair_.in == Mech::kWriteFd && pair_.out == Mech::kReadFd) {
    // The pipe glue: one pipe, its read end is our output.
    out_r_ = in_r_.exchange(-1);
  }
  return ok();
}

int GlueBase::in_fd() const { return pair_.in == Mech::kReadFd ? upstream()->output_fd() : in_r_.load(); }

int GlueBase::out_fd() const { return pair_.out == Mech::kWriteFd ? downstream()->input_fd() : out_w_.load(); }

void GlueBase::report_io(const char* what, Element* peer, int err) {
  // The fd belongs to the neighbour: the error is its own ("dest-file#3: write /x.tmp: ENOSPC").
  if (!peer) return fail(sys_error(what, err));
  const std::string label = peer->fd_label();
  fail_as(peer, sys_error(label.empty() ? std::string(what) : std::string(what) + " " + label, err));
}

BlockRef GlueBase::read_block() {
  if (in_finished_) return {};
  if (pair_.in == Mech::kPullBuffer) {
    BlockRef b = upstream()->pull();
    if (b) count_in(b->size());
    return b;
  }
  BlockRef b = alloc_block();
  const IoResult r = read_some(in_fd(), b->data(), b->capacity(), cancel_fd());
  if (r.status == IoStatus::kOk) {
    b->set_size(r.n);
    count_in(r.n);
    credit_upstream(r.n);
    return b;
  }
  if (r.status == IoStatus::kError) report_io("read", upstream(), r.err);
  in_done();
  return {};
}

// An element whose output is an fd (READFD) never sees its bytes move, nor one whose input is an
// fd (WRITEFD): the glue that moves them counts them for it, so progress and stats are complete.
void GlueBase::credit_upstream(uint64_t n) {
  if (pair_.in == Mech::kReadFd) upstream()->count_out(n);
}

void GlueBase::credit_downstream(uint64_t n) {
  if (pair_.out == Mech::kWriteFd) downstream()->count_in(n);
}

void GlueBase::in_done() {
  if (in_finished_) return;
  in_finished_ = true;
  if (pair_.in == Mech::kReadFd) upstream()->release_output();
  if (pair_.in == Mech::kWriteFd) close_fd(in_r_);
}

bool GlueBase::write_block(const BlockRef& b) {
  if (pair_.out == Mech::kPushBuffer) {
    count_out(b->size());
    downstream()->push(b);
    return !cancelled();
  }
  const IoResult r = write_all(out_fd(), b->data(), b->size(), cancel_fd());
  if (r.status == IoStatus::kOk) {
    count_out(r.n);
    credit_downstream(r.n);
    return true;
  }
  if (r.status == IoStatus::kError && !(r.err == EPIPE && downstream()->reports_early_close()))
    report_io("write", downstream(), r.err);
  return false;
}

void GlueBase::out_done() {
  if (pair_.out == Mech::kPushBuffer) downstream()->push({});
  if (pair_.out == Mech::kWriteFd) downstream()->release_input();
  if (pair_.out == Mech::kReadFd) close_fd(out_w_);
}

}  // namespace xfa
