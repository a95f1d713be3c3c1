// Delivery status notifications (RFC 3464): a multipart/report with a
// human-readable part, the machine-readable message/delivery-status part and
// the original header (text/rfc822-headers), or the whole message when the
// sender asked for RET=FULL (RFC 3461 §4.3).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "queue/queue_store.hpp"

namespace postern::queue {

struct dsn_recipient {
  std::string address;
  std::string orcpt;
  std::string status;      // "5.1.1", "4.4.1"
  std::string diagnostic;  // the relay's reply or the reason
};

struct dsn_request {
  // failed and delayed: RFC 3461 FAILURE and DELAY. delivered: stored in a
  // mailbox here; relayed: handed to a relay that does not do DSN, so no
  // further report can come (both SUCCESS, RFC 3464 §2.3.3).
  enum class kind { failed, delayed, delivered, relayed } what = kind::failed;
  std::string reporting_host;  // this node
  std::string remote;          // the relay, "" when none was reached
  const queued_message* message = nullptr;
  std::vector<dsn_recipient> recipients;
  std::string original;  // the original header, or the whole message (RET=FULL)
  bool original_is_full = false;
  int64_t now = 0;
  int64_t retry_until = 0;  // delayed: when the queue gives up
};

// The report as a message ready to store or queue (CRLF lines).
std::string make_dsn(const dsn_request& r);

// The RFC 3463 status in a reply ("550 5.1.1 ..." -> "5.1.1"), or one made
// from the code (5xx -> 5.0.0, anything else -> 4.0.0).
std::string status_of(int code, std::string_view reply);

// Whether a recipient's RFC 3461 NOTIFY asks for this kind of report ("" is
// the default: failures and delays; success only when asked for).
bool wants_report(std::string_view notify, dsn_request::kind what);

}  // namespace postern::queue
