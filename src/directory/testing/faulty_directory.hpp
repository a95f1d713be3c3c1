// A directory for tests whose Nth user look-up fails the way a busy or
// broken database does (errc::temporary), so sessions can be checked to
// answer "try again" — never "no such user", never deleting anything.
#pragma once

#include <atomic>

#include "directory/directory.hpp"

namespace postern::directory::testing {

class faulty_directory final : public directory {
 public:
  faulty_directory(directory& inner, uint32_t fail_lookup_at)
      : inner_(inner), fail_at_(fail_lookup_at) {}

  base::result<user_record> find_user(std::string_view address) override {
    if (count_.fetch_add(1) + 1 == fail_at_) {
      fired_ = true;
      return base::error{base::errc::temporary, "injected fault: database is locked",
                         "injected by faulty_directory"};
    }
    return inner_.find_user(address);
  }
  base::result<user_record> add_user(std::string_view a, std::string_view h) override {
    return inner_.add_user(a, h);
  }
  base::status set_password(std::string_view a, std::string_view h) override {
    return inner_.set_password(a, h);
  }
  base::result<user_record> remove_user(std::string_view a) override {
    return inner_.remove_user(a);
  }
  base::result<std::vector<user_record>> list_users() override { return inner_.list_users(); }
  base::status set_quota(std::string_view a, uint64_t s, uint64_t m) override {
    return inner_.set_quota(a, s, m);
  }
  base::status set_protocol_enabled(std::string_view a, std::string_view p, bool on) override {
    return inner_.set_protocol_enabled(a, p, on);
  }
  base::status set_role(std::string_view a, std::string_view r) override {
    return inner_.set_role(a, r);
  }
  base::result<setting_map> settings(std::string_view p) override { return inner_.settings(p); }
  base::result<std::string> set_setting(std::string_view p, std::string_view k,
                                        std::string_view v) override {
    return inner_.set_setting(p, k, v);
  }
  base::result<std::vector<retention_rule>> retention_rules() override {
    return inner_.retention_rules();
  }
  base::status set_retention(int64_t u, std::string_view f, int64_t s) override {
    return inner_.set_retention(u, f, s);
  }
  base::result<std::vector<component_record>> component_states() override {
    return inner_.component_states();
  }
  base::status set_component_state(const component_record& r) override {
    return inner_.set_component_state(r);
  }
  uint64_t version() override { return inner_.version(); }

  bool fired() const { return fired_; }

 private:
  directory& inner_;
  uint32_t fail_at_;
  std::atomic<uint32_t> count_{0};
  std::atomic<bool> fired_{false};
};

}  // namespace postern::directory::testing
