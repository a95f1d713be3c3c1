#include "store/testing/faulty_store.hpp"

#include <new>

namespace postern::store::testing {

namespace {

base::error injected() {
  return base::error{base::errc::io_error, "injected fault: write failed in /data/mail/1/index",
                     "injected by faulty_store"};
}

class faulty_mailbox final : public mailbox {
 public:
  faulty_mailbox(std::shared_ptr<mailbox> inner, faulty_store& owner)
      : inner_(std::move(inner)), owner_(owner) {}

  base::result<uint32_t> append(std::string_view folder, const new_message& msg) override {
    if (owner_.fail_now()) return injected();
    return inner_->append(folder, msg);
  }
  base::result<uint32_t> append_file(std::string_view folder, const spooled_message& msg) override {
    if (owner_.fail_now()) return injected();
    return inner_->append_file(folder, msg);
  }
  base::result<folder_info> folder(std::string_view name) override {
    if (owner_.fail_now()) return injected();
    return inner_->folder(name);
  }
  base::result<std::vector<message_meta>> list(std::string_view folder) override {
    if (owner_.fail_now()) return injected();
    return inner_->list(folder);
  }
  base::result<size_t> expunge(std::string_view folder, std::span<const uint32_t> uids) override {
    if (owner_.fail_now()) return injected();
    return inner_->expunge(folder, uids);
  }
  base::status sync() override {
    if (owner_.fail_now()) return injected();
    return inner_->sync();
  }
  base::result<int> open_blob(uint64_t blob_id, uint32_t uid) override {
    if (owner_.fail_now()) return injected();
    return inner_->open_blob(blob_id, uid);
  }
  base::result<std::string> read_kept_blob(uint64_t blob_id, uint32_t uid) override {
    if (owner_.fail_now()) return injected();
    return inner_->read_kept_blob(blob_id, uid);
  }
  notifier& changes() override { return inner_->changes(); }
  int64_t user_id() const override { return inner_->user_id(); }

#define POSTERN_FORWARD(ret, name, params, args) \
  ret name params override {                     \
    if (owner_.fail_now()) return injected();    \
    return inner_->name args;                    \
  }
  POSTERN_FORWARD(base::result<std::vector<folder_entry>>, folders, (), ())
  POSTERN_FORWARD(base::status, create_folder, (std::string_view n, std::string_view u), (n, u))
  POSTERN_FORWARD(base::status, delete_folder, (std::string_view n), (n))
  POSTERN_FORWARD(base::status, rename_folder, (std::string_view a, std::string_view b), (a, b))
  POSTERN_FORWARD(base::status, subscribe, (std::string_view n, bool on), (n, on))
  POSTERN_FORWARD(base::result<std::vector<std::string>>, subscriptions, (), ())
  POSTERN_FORWARD(base::result<std::shared_ptr<folder_view>>, view, (std::string_view n), (n))
  POSTERN_FORWARD(base::result<flag_result>, store_flags,
                  (std::string_view f, std::span<const uint32_t> u, const flag_update& x),
                  (f, u, x))
  POSTERN_FORWARD(base::result<copy_result>, copy,
                  (std::string_view f, std::span<const uint32_t> u, std::string_view t, bool m),
                  (f, u, t, m))
  POSTERN_FORWARD(base::result<appended>, append_files,
                  (std::string_view f, std::span<const spooled_message> m,
                   std::span<const std::vector<std::string>> k),
                  (f, m, k))
  POSTERN_FORWARD(base::result<std::vector<uint32_t>>, expunged_since,
                  (std::string_view f, uint64_t m), (f, m))
  POSTERN_FORWARD(base::status, save_recent, (std::string_view f, uint32_t u), (f, u))
  POSTERN_FORWARD(base::result<std::string>, structure, (std::string_view f, uint32_t u), (f, u))
  using structure_texts = std::vector<std::optional<stored_structure>>;
  POSTERN_FORWARD(base::result<structure_texts>, structures,
                  (std::string_view f, const std::vector<uint32_t>& u, bool h, bool p),
                  (f, u, h, p))
  POSTERN_FORWARD(base::result<usage>, total_usage, (), ())
  POSTERN_FORWARD(base::result<usage>, folder_usage, (std::string_view f), (f))
#undef POSTERN_FORWARD

 private:
  std::shared_ptr<mailbox> inner_;
  faulty_store& owner_;
};

}  // namespace

bool faulty_store::fail_now() {
  if (count_.fetch_add(1) + 1 != fail_at_) return false;
  fired_ = true;
  if (kind_ == fault_kind::exception) throw std::bad_alloc();
  return true;
}

base::result<std::shared_ptr<mailbox>> faulty_store::open(int64_t user_id) {
  if (fail_now()) return injected();
  auto mb = inner_.open(user_id);
  if (!mb) return mb.err();
  return std::shared_ptr<mailbox>(std::make_shared<faulty_mailbox>(std::move(*mb), *this));
}

base::result<spool_file> faulty_store::create_spool() {
  if (fail_now()) return injected();
  return inner_.create_spool();
}

}  // namespace postern::store::testing
