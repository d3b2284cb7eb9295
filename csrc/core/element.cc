#include "xfa/element.h"

#include <stdexcept>

#include "transfer.h"

namespace xfa {

namespace {
template <class T>
const T* get_if_key(const std::map<std::string, PropValue>& m, const std::string& key) {
  auto it = m.find(key);
  return it == m.end() ? nullptr : std::get_if<T>(&it->second);
}
}  // namespace

int64_t Props::get_int(const std::string& key, int64_t dflt) const {
  if (const auto* v = get_if_key<int64_t>(values_, key)) return *v;
  if (const auto* d = get_if_key<double>(values_, key)) return static_cast<int64_t>(*d);
  return dflt;
}

double Props::get_double(const std::string& key, double dflt) const {
  if (const auto* d = get_if_key<double>(values_, key)) return *d;
  if (const auto* v = get_if_key<int64_t>(values_, key)) return static_cast<double>(*v);
  return dflt;
}

bool Props::get_bool(const std::string& key, bool dflt) const {
  const auto* v = get_if_key<bool>(values_, key);
  return v ? *v : dflt;
}

std::string Props::get_string(const std::string& key, const std::string& dflt) const {
  const auto* v = get_if_key<std::string>(values_, key);
  return v ? *v : dflt;
}

std::vector<std::string> Props::get_strings(const std::string& key) const {
  if (const auto* v = get_if_key<std::vector<std::string>>(values_, key)) return *v;
  if (const auto* s = get_if_key<std::string>(values_, key)) return {*s};
  return {};
}

void Element::attach(Transfer* t, int index, std::string name, Mech in, Mech out, size_t block_size) {
  xfer_ = t;
  index_ = index;
  name_ = std::move(name);
  in_ = in;
  out_ = out;
  block_size_ = block_size;
}

bool Element::cancelled() const { return xfer_ != nullptr && xfer_->cancelled(); }
int Element::cancel_fd() const { return xfer_ ? xfer_->cancel_fd() : -1; }

void Element::cancel_transfer() {
  if (xfer_) xfer_->cancel();
}

void Element::fail(Error e) {
  if (xfer_) xfer_->fail(this, std::move(e));
}

void Element::fail_as(const Element* who, Error e) {
  if (xfer_) xfer_->fail(who, std::move(e));
}

void Element::post_slice(uint64_t slice, uint64_t in_offset, uint64_t in_length, uint64_t out_offset,
                         uint64_t out_length) {
  post(msg(MsgType::kSlice)
           .set("slice", static_cast<int64_t>(slice))
           .set("in_offset", static_cast<int64_t>(in_offset))
           .set("in_length", static_cast<int64_t>(in_length))
           .set("out_offset", static_cast<int64_t>(out_offset))
           .set("out_length", static_cast<int64_t>(out_length)));
}

void Element::post(Message m) {
  if (xfer_) xfer_->post(std::move(m));
}

BlockRef Element::alloc_block() { return BlockPool::for_size(block_size_).acquire(); }

void Element::count_out(uint64_t n) {
  bytes_out_.fetch_add(n, std::memory_order_relaxed);
  if (xfer_) xfer_->note_progress();
}

Registry& Registry::instance() {
  static Registry* r = new Registry();  // filled by static initialisers of elements/*.cc
  return *r;
}

void Registry::add(ElementInfo info) { infos_.push_back(std::move(info)); }

const ElementInfo* Registry::find(const std::string& name) const {
  for (const auto& i : infos_)
    if (i.name == name) return &i;
  return nullptr;
}

bool register_element(ElementInfo info) {
  Registry::instance().add(std::move(info));
  return true;
}

}  // namespace xfa
