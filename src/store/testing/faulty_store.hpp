// A store for tests that fails its Nth operation: every error path of a
// session can be walked by running the same script with N = 1, 2, 3, ...
// An operation is any call on the store or on a mailbox it opened. A failure
// is either a domain error (io_error, as a broken disk gives) or a thrown
// std::bad_alloc (as a huge message gives), so both the error maps and the
// exception containment are exercised.
#pragma once

#include <atomic>
#include <memory>

#include "store/store.hpp"

namespace postern::store::testing {

enum class fault_kind { error, exception };

class faulty_store final : public store {
 public:
  faulty_store(store& inner, uint32_t fail_at, fault_kind kind)
      : inner_(inner), fail_at_(fail_at), kind_(kind) {}

  base::result<std::shared_ptr<mailbox>> open(int64_t user_id) override;
  base::status destroy(int64_t user_id) override { return inner_.destroy(user_id); }
  base::result<spool_file> create_spool() override;
  void poll_external_changes() override { inner_.poll_external_changes(); }

  // True (and counted) when this operation is the one that must fail; throws
  // for fault_kind::exception.
  bool fail_now();
  uint32_t operations() const { return count_.load(); }
  bool failed() const { return fired_.load(); }

 private:
  store& inner_;
  uint32_t fail_at_;
  fault_kind kind_;
  std::atomic<uint32_t> count_{0};
  std::atomic<bool> fired_{false};
};

}  // namespace postern::store::testing
