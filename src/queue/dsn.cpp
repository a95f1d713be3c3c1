#include "queue/dsn.hpp"

#include <fmt/format.h>
#include <openssl/rand.h>

#include <ctime>

#include "base/strings.hpp"

namespace postern::queue {

namespace {

std::string rfc5322_date(int64_t t) {
  std::tm tm{};
  auto tt = static_cast<std::time_t>(t);
  ::gmtime_r(&tt, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  return buf;
}

std::string random_hex(size_t bytes) {
  std::string out;
  for (size_t i = 0; i < bytes; ++i) {
    unsigned char b = 0;
    RAND_bytes(&b, 1);
    out += fmt::format("{:02x}", b);
  }
  return out;
}

// A header field value with no line breaks (a reply from a relay could carry any).
std::string one_line(std::string_view s) {
  std::string out;
  for (char c : s) out += (c == '\r' || c == '\n') ? ' ' : c;
  return out;
}

}  // namespace

std::string status_of(int code, std::string_view reply) {
  auto words = base::split(reply, ' ');
  if (words.size() >= 2) {
    auto& s = words[1];
    auto parts = base::split(s, '.');
    bool ok = parts.size() == 3 && (s[0] == '2' || s[0] == '4' || s[0] == '5');
    for (auto& p : parts) ok = ok && !p.empty() && base::parse_u64(p).has_value();
    if (ok && s[0] == reply[0]) return s;
  }
  return code >= 500 ? "5.0.0" : code >= 200 && code < 300 ? "2.0.0" : "4.0.0";
}

bool wants_report(std::string_view notify, dsn_request::kind what) {
  bool success = what == dsn_request::kind::delivered || what == dsn_request::kind::relayed;
  if (notify.empty()) return !success;
  auto n = base::to_upper(notify);
  if (n.find("NEVER") != std::string::npos) return false;
  auto word = success ? "SUCCESS" : what == dsn_request::kind::failed ? "FAILURE" : "DELAY";
  return n.find(word) != std::string::npos;
}

namespace {

struct kind_words {
  const char* subject;
  const char* action;
};

kind_words words_of(dsn_request::kind k) {
  switch (k) {
    case dsn_request::kind::failed:
      return {"Undelivered Mail Returned to Sender", "failed"};
    case dsn_request::kind::delayed:
      return {"Delayed Mail (still being retried)", "delayed"};
    case dsn_request::kind::delivered:
      return {"Successful Mail Delivery Report", "delivered"};
    case dsn_request::kind::relayed:
      return {"Mail Relayed (no further reports possible)", "relayed"};
  }
  return {"Delivery Status Notification", "failed"};
}

}  // namespace

std::string make_dsn(const dsn_request& r) {
  auto& m = *r.message;
  bool failed = r.what == dsn_request::kind::failed;
  bool delayed = r.what == dsn_request::kind::delayed;
  auto words = words_of(r.what);
  auto boundary = "postern-report-" + random_hex(8);
  std::string text;
  text += fmt::format("From: Mail Delivery System <MAILER-DAEMON@{}>\r\n", r.reporting_host);
  text += fmt::format("To: <{}>\r\n", m.sender);
  text += fmt::format("Subject: {}\r\n", words.subject);
  text += fmt::format("Date: {}\r\n", rfc5322_date(r.now));
  text += fmt::format("Message-ID: <{}.{}@{}>\r\n", random_hex(8), m.id, r.reporting_host);
  text += "Auto-Submitted: auto-replied\r\n";  // RFC 3834 §5
  text += "MIME-Version: 1.0\r\n";
  text += fmt::format(
      "Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"{}\"\r\n\r\n",
      boundary);
  text += "This is a delivery status notification (RFC 3464).\r\n\r\n";

  // The part a person reads.
  text += fmt::format("--{}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n", boundary);
  auto shown_id = m.message_id.empty() ? m.id : m.message_id;
  if (failed)
    text += fmt::format("Your message {} of {} could not be delivered to these recipients:\r\n\r\n",
                        shown_id, rfc5322_date(m.created));
  else if (r.what == dsn_request::kind::delivered)
    text += fmt::format("Your message {} of {} was delivered to these mailboxes:\r\n\r\n", shown_id,
                        rfc5322_date(m.created));
  else if (r.what == dsn_request::kind::relayed)
    text += fmt::format(
        "Your message {} of {} was handed to the next server for these recipients; that\r\n"
        "server sends no delivery reports, so this is the last one you get:\r\n\r\n",
        shown_id, rfc5322_date(m.created));
  else
    text += fmt::format(
        "Your message {} of {} has not been delivered yet to these recipients. Nothing needs\r\n"
        "to be done: the server keeps trying until {}, and tells you if it gives up.\r\n\r\n",
        m.message_id.empty() ? m.id : m.message_id, rfc5322_date(m.created),
        rfc5322_date(r.retry_until));
  for (auto& rc : r.recipients)
    text += fmt::format("  <{}>: {}\r\n", rc.address, one_line(rc.diagnostic));
  text += fmt::format("\r\nReference: {}\r\n\r\n", m.id);

  // RFC 3464 §2.2 and §2.3: per-message, then per-recipient fields.
  text += fmt::format("--{}\r\nContent-Type: message/delivery-status\r\n\r\n", boundary);
  text += fmt::format("Reporting-MTA: dns; {}\r\n", r.reporting_host);
  if (!m.envid.empty()) text += fmt::format("Original-Envelope-Id: {}\r\n", m.envid);
  text += fmt::format("Arrival-Date: {}\r\n", rfc5322_date(m.created));
  for (auto& rc : r.recipients) {
    text += "\r\n";
    if (!rc.orcpt.empty()) text += fmt::format("Original-Recipient: {}\r\n", one_line(rc.orcpt));
    text += fmt::format("Final-Recipient: rfc822; {}\r\n", rc.address);
    text += fmt::format("Action: {}\r\n", words.action);
    text += fmt::format("Status: {}\r\n", rc.status);
    if (!r.remote.empty()) text += fmt::format("Remote-MTA: dns; {}\r\n", one_line(r.remote));
    text += fmt::format("Diagnostic-Code: smtp; {}\r\n", one_line(rc.diagnostic));
    text += fmt::format("Last-Attempt-Date: {}\r\n", rfc5322_date(r.now));
    if (delayed) text += fmt::format("Will-Retry-Until: {}\r\n", rfc5322_date(r.retry_until));
  }
  text += "\r\n";

  text += fmt::format("--{}\r\nContent-Type: {}\r\n\r\n", boundary,
                      r.original_is_full ? "message/rfc822" : "text/rfc822-headers");
  text += r.original;
  if (!r.original.empty() && !r.original.ends_with("\r\n")) text += "\r\n";
  text += fmt::format("\r\n--{}--\r\n", boundary);
  return text;
}

}  // namespace postern::queue
