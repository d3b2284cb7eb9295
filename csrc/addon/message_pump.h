// Delivers a transfer's messages to JavaScript in batches through one thread-safe function.
//
// post() (any thread) appends to a pending list and schedules at most one call into the event
// loop at a time; that call takes everything pending, so a burst of messages costs one loop turn.
// close() (after `done`) lets the function go once the last batch has been delivered, which is
// also what stops the transfer from keeping Node alive.
#pragma once

#include <napi.h>

#include <memory>
#include <mutex>
#include <vector>

#include "xfa/message.h"

namespace xfa::addon {

class MessagePump : public MessageSink, public std::enable_shared_from_this<MessagePump> {
 public:
  // Created unreferenced: a transfer that is never started must not keep Node alive.
  static std::shared_ptr<MessagePump> create(Napi::Env env, Napi::Function callback);
  // JS thread, at start(): from now until `done` the transfer keeps the event loop alive.
  void activate(Napi::Env env) { tsfn_.Ref(env); }
  void post(Message m) override;
  void close() override;

 private:
  MessagePump() = default;
  void schedule_locked();
  void deliver(Napi::Env env, Napi::Function cb);

  Napi::ThreadSafeFunction tsfn_;
  std::shared_ptr<MessagePump> self_;  // alive until the function is released
  std::mutex mu_;
  std::vector<Message> pending_;
  bool scheduled_ = false;
  bool closed_ = false;
  bool released_ = false;
};

Napi::Object message_to_js(Napi::Env env, const Message& m);

}  // namespace xfa::addon
