// Glue: the adapter the linker puts between two elements whose mechanisms differ.
//
// Every pair in glue_pairs() is implemented — all 16 combinations of READFD, WRITEFD,
// PULL_BUFFER and PUSH_BUFFER — and a generated test moves bytes through each. Strategies, one per
// file:
//   fd_copy.cc   fd → fd on a thread, with copy_file_range/splice (csrc/core/fdio.h)
//   pipe.cc      WRITEFD → READFD: just a pipe, no thread
//   pump.cc      fd/pull → fd/push on a thread, through pooled blocks
//   pull.cc      fd/pull → PULL on the puller's thread (no thread of its own)
//   push.cc      PUSH → fd/push on the pusher's thread (no thread of its own)
//   queue.cc     PUSH → PULL through a bounded BlockQueue (no thread)
// GlueBase holds what they share: the pipes a glue exposes, and reading/writing one block on
// either side of it.
#pragma once

#include <atomic>
#include <memory>

#include "xfa/element.h"

namespace xfa {

const MechPairs& glue_pairs();
std::unique_ptr<Element> make_glue(Mech in, Mech out);

class GlueBase : public Element {
 public:
  GlueBase(Mech in, Mech out);
  ~GlueBase() override;
  MechPairs mech_pairs() const override { return {pair_}; }

  // Pipes: WRITEFD input → the write end is exposed to upstream (blocking; it may go to a child)
  // and we read the other end (non-blocking). READFD output → the read end is exposed downstream.
  Status setup() override;
  int input_fd() override { return in_w_.load(); }
  void release_input() override { close_fd(in_w_); }
  int output_fd() override { return out_r_.load(); }
  void release_output() override { close_fd(out_r_); }
  void close() override;

 protected:
  // Input side. read_block(): next block, or empty at EOF/cancel/error (errors are reported).
  int in_fd() const;
  BlockRef read_block();
  void in_done();
  // Output side. write_block(): false when the output is gone (cancel or error, reported).
  int out_fd() const;
  bool write_block(const BlockRef& b);
  void out_done();
  void report_io(const char* what, Element* peer, int err);
  void credit_upstream(uint64_t n);
  void credit_downstream(uint64_t n);

  MechPair pair_;

 private:
  static void close_fd(std::atomic<int>& fd);
  std::atomic<int> in_r_{-1}, in_w_{-1}, out_r_{-1}, out_w_{-1};
  bool in_finished_ = false;
};

std::unique_ptr<Element> make_fd_copy_glue(Mech in, Mech out);
std::unique_ptr<Element> make_pipe_glue(Mech in, Mech out);
std::unique_ptr<Element> make_pump_glue(Mech in, Mech out);
std::unique_ptr<Element> make_pull_glue(Mech in, Mech out);
std::unique_ptr<Element> make_push_glue(Mech in, Mech out);
std::unique_ptr<Element> make_queue_glue(Mech in, Mech out);

}  // namespace xfa
