#include "admin/config.hpp"

#include <fmt/format.h>
#include <toml++/toml.h>
#include <unistd.h>

#include <filesystem>
#include <set>

#include "admin/config_keys.hpp"
#include "admin/protocols.hpp"
#include "directory/settings_schema.hpp"

namespace postern::admin {

namespace {

base::error config_error(const node_config& c, const toml::source_region* where, std::string what) {
  std::string loc = c.path;
  if (where && where->begin.line) loc += fmt::format(" line {}", where->begin.line);
  return base::error{base::errc::invalid_argument, fmt::format("{}: {}", loc, what), ""};
}

std::string resolve(const std::string& base_dir, const std::string& p) {
  if (p.empty() || p.front() == '/') return p;
  return (std::filesystem::path(base_dir) / p).lexically_normal().string();
}

// Checks every key of a table is one we know (config_keys.cpp).
std::optional<base::error> check_keys(const node_config& c, const toml::table& t,
                                      std::string_view table, std::string_view table_name) {
  auto known = keys_of(table);
  for (auto& [k, v] : t) {
    bool ok = false;
    for (auto n : known) ok = ok || k.str() == n;
    if (!ok) {
      std::string list;
      for (auto n : known) list += fmt::format("{}{}", list.empty() ? "" : ", ", n);
      return config_error(
          c, &v.source(),
          fmt::format("unknown key '{}' in {} (known keys: {})", k.str(), table_name, list));
    }
  }
  return std::nullopt;
}

}  // namespace

bool protocol_supported(const std::string& p) {
  return p == "admin" || find_protocol(p) != nullptr;
}

// [relay]: the smarthost the outbound queue relays remote recipients through.
static std::optional<base::error> parse_relay(node_config& c, const toml::table& t,
                                              const std::string& base_dir) {
  if (auto e = check_keys(c, t, "relay", "[relay]")) return e;
  auto& r = c.relay;
  r.origin = c.path + " [relay]";
  auto host = t["host"].value<std::string>();
  if (!host || host->empty())
    return config_error(c, &t.source(),
                        "[relay] host is missing: the smarthost's name or address, e.g. host = "
                        "\"smtp.example.net\"");
  r.host = *host;
  auto mode = t["tls"].value_or<std::string>("starttls");
  if (mode == "starttls")
    r.tls = queue::relay_config::tls_mode::starttls;
  else if (mode == "implicit")
    r.tls = queue::relay_config::tls_mode::implicit;
  else if (mode == "none")
    r.tls = queue::relay_config::tls_mode::none;
  else
    return config_error(
        c, &t["tls"].node()->source(),
        fmt::format("[relay] tls = \"{}\" must be starttls, implicit or none", mode));
  r.port = r.tls == queue::relay_config::tls_mode::implicit ? 465 : 25;
  if (auto p = t["port"]) {
    auto v = p.value<int64_t>();
    if (!v || *v < 1 || *v > 65535)
      return config_error(c, &p.node()->source(), "[relay] port must be a number from 1 to 65535");
    r.port = static_cast<uint16_t>(*v);
  }
  for (auto [k, dest] :
       {std::pair{"username", &r.username}, std::pair{"password_file", &r.password_file},
        std::pair{"ca_file", &r.ca_file}}) {
    auto v = t[k];
    if (!v) continue;
    if (!v.is_string() || v.as_string()->get().empty())
      return config_error(c, &v.node()->source(), fmt::format("[relay] {} must be a string", k));
    *dest = std::string(k) == "username" ? **v.as_string() : resolve(base_dir, **v.as_string());
  }
  if (r.username.empty() != r.password_file.empty())
    return config_error(c, &t.source(),
                        "[relay] username and password_file go together: give both or neither");
  if (!r.username.empty() && r.tls == queue::relay_config::tls_mode::none)
    return config_error(c, &t["tls"].node()->source(),
                        "[relay] tls = \"none\" with a username would send the relay password "
                        "in clear: use starttls or implicit");
  return std::nullopt;
}

base::result<node_config> load_config(const std::string& path) {
  node_config c;
  c.path = path;
  toml::table root;
  try {
    root = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    auto& src = e.source();
    if (std::string_view(e.description()).find("File could not be opened") !=
        std::string_view::npos)
      return base::error{
          base::errc::not_found,
          fmt::format("{}: cannot read the configuration file: {}", path, std::strerror(errno)),
          ""};
    return base::error{base::errc::invalid_argument,
                       fmt::format("{} line {} column {}: {}", path, src.begin.line,
                                   src.begin.column, e.description()),
                       ""};
  }
  auto base_dir = std::filesystem::path(path).parent_path().string();
  if (base_dir.empty()) base_dir = ".";

  if (auto e = check_keys(c, root, "", "the top level")) return *e;

  auto data_dir = root["data_dir"];
  if (!data_dir)
    return config_error(c, nullptr, "data_dir is missing: set data_dir = \"/var/lib/postern\"");
  if (!data_dir.is_string())
    return config_error(c, &data_dir.node()->source(), "data_dir must be a string (a folder path)");
  c.data_dir = resolve(base_dir, **data_dir.as_string());

  if (auto role = root["role"]) {
    if (!role.is_string() || **role.as_string() != "standalone")
      return config_error(c, &role.node()->source(),
                          "role must be \"standalone\" (backend and frontend roles are not in this "
                          "version)");
  }
  if (auto h = root["hostname"]) {
    if (!h.is_string() || h.as_string()->get().empty())
      return config_error(c, &h.node()->source(), "hostname must be a non-empty string");
    c.hostname = **h.as_string();
  } else {
    char buf[256] = {};
    ::gethostname(buf, sizeof buf - 1);
    c.hostname = buf[0] ? buf : "localhost";
  }
  if (auto t = root["threads"]) {
    auto v = t.value<int64_t>();
    if (!v || *v < 0 || *v > 256)
      return config_error(c, &t.node()->source(),
                          "threads must be a number from 0 (one per core) to 256");
    c.threads = static_cast<unsigned>(*v);
  }

  if (auto t = root["shutdown_timeout"]) {
    auto text = t.value<std::string>();
    auto seconds = text ? directory::parse_duration(*text) : std::nullopt;
    if (!seconds || *seconds < 0 || *seconds > 3600)
      return config_error(c, &t.node()->source(),
                          "shutdown_timeout must be a duration from 0s to 1h, e.g. \"10s\"");
    c.shutdown_timeout = std::chrono::seconds(*seconds);
  }

  if (auto tls = root["tls"]) {
    auto* t = tls.as_table();
    if (!t) return config_error(c, &tls.node()->source(), "[tls] must be a table");
    if (auto e = check_keys(c, *t, "tls", "[tls]")) return *e;
    if (auto sni = (*t)["sni"]) {
      if (!sni.is_array_of_tables())
        return config_error(c, &sni.node()->source(),
                            "[tls] sni must be written as [[tls.sni]] tables, each with a "
                            "certificate and key");
      int index = 0;
      for (auto& node : *sni.as_array()) {
        ++index;
        auto& e = *node.as_table();
        auto name = fmt::format("[[tls.sni]] #{}", index);
        if (auto err = check_keys(c, e, "tls.sni", name)) return *err;
        auto cert = e["certificate"].value<std::string>();
        auto key = e["key"].value<std::string>();
        if (!cert || !key)
          return config_error(c, &e.source(),
                              fmt::format("{}: certificate and key must both be file paths "
                                          "(the names it serves come from the certificate)",
                                          name));
        c.tls_sni.emplace_back(resolve(base_dir, *cert), resolve(base_dir, *key));
      }
    }
    if (auto p = (*t)["profile"]) {
      auto v = p.value<std::string>();
      if (v && *v == "intermediate")
        c.tls_profile = net::tls_profile::intermediate;
      else if (v && *v == "modern")
        c.tls_profile = net::tls_profile::modern;
      else
        return config_error(c, &p.node()->source(),
                            "[tls] profile must be \"intermediate\" (TLS 1.3, and TLS 1.2 with "
                            "ECDHE and AEAD suites) or \"modern\" (TLS 1.3 only)");
    }
    for (auto [key, dest] :
         {std::pair{"certificate", &c.tls_certificate}, std::pair{"key", &c.tls_key}}) {
      auto v = (*t)[key];
      if (!v) continue;
      if (!v.is_string())
        return config_error(c, &v.node()->source(),
                            fmt::format("[tls] {} must be a file path", key));
      *dest = resolve(base_dir, **v.as_string());
    }
  }

  if (auto relay = root["relay"]) {
    auto* t = relay.as_table();
    if (!t) return config_error(c, &relay.node()->source(), "[relay] must be a table");
    if (auto e = parse_relay(c, *t, base_dir)) return *e;
  }

  auto listeners = root["listener"];
  if (listeners && !listeners.is_array_of_tables())
    return config_error(c, &listeners.node()->source(),
                        "listener must be written as [[listener]] tables");
  std::set<std::pair<std::string, uint16_t>> seen;
  if (auto* arr = listeners.as_array()) {
    int index = 0;
    for (auto& node : *arr) {
      ++index;
      auto& t = *node.as_table();
      auto name = fmt::format("[[listener]] #{}", index);
      if (auto e = check_keys(c, t, "listener", name)) return *e;
      listener_config l;
      l.origin = fmt::format("{} {} line {}", c.path, name, t.source().begin.line);
      auto proto = t["protocol"].value<std::string>();
      if (!proto)
        return config_error(
            c, &t.source(),
            fmt::format("{}: protocol is missing ({}, admin)", name, protocol_names()));
      if (!protocol_supported(*proto))
        return config_error(
            c, &t["protocol"].node()->source(),
            fmt::format("{}: protocol '{}' is not served by this version ({}, admin)", name, *proto,
                        protocol_names()));
      l.protocol = *proto;
      if (auto a = t["address"]) {
        if (!a.is_string())
          return config_error(c, &a.node()->source(),
                              fmt::format("{}: address must be a string", name));
        l.address = **a.as_string();
      }
      auto port = t["port"].value<int64_t>();
      if (!port || *port < 1 || *port > 65535)
        return config_error(c, t["port"] ? &t["port"].node()->source() : &t.source(),
                            fmt::format("{}: port must be a number from 1 to 65535", name));
      l.port = static_cast<uint16_t>(*port);
      auto mode = t["tls"].value_or<std::string>("none");
      if (mode == "none")
        l.tls = net::tls_mode::none;
      else if (mode == "starttls")
        l.tls = net::tls_mode::starttls;
      else if (mode == "implicit")
        l.tls = net::tls_mode::implicit;
      else
        return config_error(
            c, &t["tls"].node()->source(),
            fmt::format("{}: tls = \"{}\" must be none, starttls or implicit", name, mode));
      for (auto [k, dest] : {std::pair{"certificate", &l.certificate}, std::pair{"key", &l.key}}) {
        auto v = t[k];
        if (!v) continue;
        if (!v.is_string())
          return config_error(c, &v.node()->source(),
                              fmt::format("{}: {} must be a file path", name, k));
        *dest = resolve(base_dir, **v.as_string());
      }
      if (auto v = t["client_ca"]) {
        if (!v.is_string())
          return config_error(c, &v.node()->source(),
                              fmt::format("{}: client_ca must be a file path", name));
        if (l.protocol != "admin" || l.tls != net::tls_mode::implicit)
          return config_error(c, &v.node()->source(),
                              fmt::format("{}: client_ca is for the admin API over TLS "
                                          "(protocol = \"admin\", tls = \"implicit\")",
                                          name));
        l.client_ca = resolve(base_dir, **v.as_string());
      }
      if (l.certificate.empty() != l.key.empty())
        return config_error(
            c, &t.source(),
            fmt::format("{}: certificate and key go together: give both or neither", name));
      if (l.protocol == "admin" && l.tls == net::tls_mode::starttls)
        return config_error(c, &t["tls"].node()->source(),
                            fmt::format("{}: the admin API takes tls = \"implicit\" (HTTPS) or "
                                        "\"none\", not starttls",
                                        name));
      if (l.tls != net::tls_mode::none && l.certificate.empty() &&
          (c.tls_certificate.empty() || c.tls_key.empty()))
        return config_error(
            c, &t.source(),
            fmt::format("{}: tls = \"{}\" needs a certificate, and none is configured: set [tls] "
                        "certificate and key (PEM files the node's user can read), or this "
                        "listener's own certificate and key",
                        name, mode));
      if (!seen.insert({l.address, l.port}).second)
        return config_error(
            c, &t.source(),
            fmt::format("{}: {}:{} is already used by another listener", name, l.address, l.port));
      c.listeners.push_back(std::move(l));
    }
  }
  return c;
}

}  // namespace postern::admin
