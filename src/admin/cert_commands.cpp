// `postern cert` and `postern cert reload`: per listener, the certificate in
// use — subject, names, issuer, expiry, self-signed or not, whether it names
// the node's host name — with a warning 30 days before it expires (seed 002
// and 004: a certificate not assigned to the service, or about to lapse);
// and new files loaded without a restart, a bad one refused with the reason
// while the old one stays.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <ctime>

#include "admin/node_runtime.hpp"
#include "admin/probe_client.hpp"
#include "base/strings.hpp"
#include "directory/directory.hpp"
#include "net/tls.hpp"
#include "observe/log.hpp"

namespace postern::admin {

namespace {

constexpr int64_t warn_days = 30;

struct cert_facts {
  std::string subject, issuer, names, not_after;
  int64_t days_left = 0;
  bool self_signed = false;
  std::string coverage;  // "yes", or which of the protocol's host names it lacks
};

std::string one_line(X509_NAME* n) {
  char buf[512];
  X509_NAME_oneline(n, buf, sizeof buf);
  return buf;
}

// The host names clients use for a protocol: the node's hostname and its
// external_connection_settings.
std::vector<std::string> hosts_of(command_context& c, const std::string& protocol) {
  std::vector<std::string> hosts{c.cfg.hostname};
  if (directory::find_setting(protocol, "external_connection_settings")) {
    auto stored = c.dir.settings(protocol);
    if (stored)
      if (auto it = stored->find("external_connection_settings"); it != stored->end()) {
        std::string bad;
        if (auto list = directory::parse_endpoints(it->second, bad))
          for (auto& e : *list)
            if (std::find(hosts.begin(), hosts.end(), e.host) == hosts.end())
              hosts.push_back(e.host);
      }
  }
  return hosts;
}

// Whether clients reach every host name with a certificate that names it:
// the listener's own, or one SNI chooses ([[tls.sni]]).
std::string coverage(X509* x, const std::vector<std::string>& hosts,
                     const std::vector<X509*>& sni = {}) {
  std::vector<std::string> missing;
  for (auto& h : hosts) {
    bool named = X509_check_host(x, h.c_str(), h.size(), 0, nullptr) == 1;
    for (auto* alt : sni)
      named = named || X509_check_host(alt, h.c_str(), h.size(), 0, nullptr) == 1;
    if (!named) missing.push_back(h);
  }
  if (missing.empty()) return "yes";
  return fmt::format("no: {} {} not among its names", fmt::join(missing, ", "),
                     missing.size() == 1 ? "is" : "are");
}

cert_facts facts_of(X509* x) {
  cert_facts f;
  f.subject = one_line(X509_get_subject_name(x));
  f.issuer = one_line(X509_get_issuer_name(x));
  std::vector<std::string> names;
  auto* sans =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(x, NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; sans && i < sk_GENERAL_NAME_num(sans); ++i) {
    auto* g = sk_GENERAL_NAME_value(sans, i);
    if (g->type == GEN_DNS) {
      auto* s = g->d.dNSName;
      names.push_back("DNS:" + std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                           static_cast<size_t>(ASN1_STRING_length(s))));
    } else if (g->type == GEN_IPADD) {
      auto* s = g->d.iPAddress;
      auto* b = ASN1_STRING_get0_data(s);
      if (ASN1_STRING_length(s) == 4)
        names.push_back(fmt::format("IP:{}.{}.{}.{}", b[0], b[1], b[2], b[3]));
      else
        names.push_back("IP:(IPv6)");
    }
  }
  if (sans) GENERAL_NAMES_free(sans);
  f.names = names.empty() ? "(none)" : fmt::format("{}", fmt::join(names, ", "));
  auto dates = dates_of(x);
  f.not_after = dates.not_after;
  f.days_left = dates.days_left;
  f.self_signed = dates.self_signed;
  return f;
}

// The certificate a file holds (the CLI without a running node).
std::optional<cert_facts> facts_of_file(const std::string& path,
                                        const std::vector<std::string>& hosts, std::string& why) {
  FILE* f = std::fopen(path.c_str(), "r");
  if (!f) {
    why = fmt::format("cannot read {}", path);
    return std::nullopt;
  }
  X509* x = PEM_read_X509(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  if (!x) {
    why = fmt::format("{} holds no PEM certificate", path);
    return std::nullopt;
  }
  auto facts = facts_of(x);
  facts.coverage = coverage(x, hosts);
  X509_free(x);
  return facts;
}

void add_row(command_reply& r, const std::string& listener, const std::string& file,
             const cert_facts& f) {
  r.rows.push_back({listener, file, f.subject, f.names, f.issuer, f.not_after,
                    std::to_string(f.days_left), f.self_signed ? "yes" : "no", f.coverage});
  if (f.days_left < 0)
    r.lines.push_back(fmt::format("WARNING: {}: the certificate expired on {}; clients refuse it",
                                  listener, f.not_after));
  else if (f.days_left < warn_days)
    r.lines.push_back(
        fmt::format("WARNING: {}: the certificate expires in {} days ({}); renew it "
                    "and run `postern cert reload`",
                    listener, f.days_left, f.not_after));
}

command_reply cert_list(command_context& c, const arguments&) {
  command_reply r;
  r.columns = {"listener",  "file",      "subject",     "names",     "issuer",
               "not_after", "days_left", "self_signed", "names_host"};
  if (c.node) {
    for (auto& lc : c.node->certificates) {
      auto ctx = lc.source->current();
      X509* x = SSL_CTX_get0_certificate(ctx->native_handle());
      if (!x) continue;
      auto hosts = hosts_of(c, lc.listener.substr(0, lc.listener.find(' ')));
      auto sni = net::sni_certificates(*ctx);
      auto facts = facts_of(x);
      facts.coverage = coverage(x, hosts, sni);
      add_row(r, lc.listener, lc.source->certificate_path(), facts);
      for (auto* alt : sni) {
        auto alt_facts = facts_of(alt);
        alt_facts.coverage = "chosen by SNI for its names";
        add_row(r, lc.listener + " (SNI)", "[[tls.sni]]", alt_facts);
      }
    }
    return r;
  }
  for (auto& l : c.cfg.listeners) {
    if (l.tls == net::tls_mode::none) continue;
    auto file = l.certificate.empty() ? c.cfg.tls_certificate : l.certificate;
    std::string why;
    auto name = fmt::format("{} {}:{}", l.protocol, l.address, l.port);
    auto facts = facts_of_file(file, hosts_of(c, l.protocol), why);
    if (!facts) return failure(500, fmt::format("{}: {}", name, why));
    add_row(r, name, file, *facts);
  }
  return r;
}

command_reply cert_reload(command_context& c, const arguments&) {
  return reload_certificates(*c.node);
}

}  // namespace

command_reply reload_certificates(node_runtime& node) {
  command_reply r;
  std::vector<net::tls_source*> done;
  std::string refused;
  for (auto& lc : node.certificates) {
    if (std::find(done.begin(), done.end(), lc.source.get()) != done.end()) continue;
    done.push_back(lc.source.get());
    if (auto s = lc.source->reload(); !s) {
      refused += fmt::format("{}{}", refused.empty() ? "" : "; ", s.err().message);
      observe::log(observe::level::error, "node", "",
                   "certificate reload refused: {}; the loaded certificate stays in use",
                   s.err().message);
      continue;
    }
    observe::log(observe::level::info, "node", "",
                 "certificate {} reloaded; new connections use it", lc.source->certificate_path());
    r.lines.push_back(
        fmt::format("reloaded {}; new connections use it", lc.source->certificate_path()));
  }
  if (!refused.empty())
    return failure(400, fmt::format("{}; the loaded certificate stays in use", refused));
  if (done.empty()) r.lines.push_back("no listener uses TLS: nothing to reload");
  return r;
}

std::vector<command_spec> cert_commands() {
  return {{"cert list",
           "each TLS listener's certificate: subject, names, issuer, expiry, self-signed, whether "
           "it names the node's host name; warns 30 days before expiry",
           {},
           false,
           cert_list},
          {"cert reload",
           "load the certificate and key files again (also on SIGHUP); a bad file is refused and "
           "the old certificate stays",
           {},
           true,
           cert_reload}};
}

}  // namespace postern::admin
