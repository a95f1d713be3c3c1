#include "session/submission/message_header.hpp"

#include "base/strings.hpp"

namespace postern::session::submission {

namespace {

// Calls f(name, value, whole) for each field; `whole` includes its
// continuation lines and CRLF.
template <class F>
void each_field(std::string_view fields, F&& f) {
  size_t pos = 0;
  while (pos < fields.size()) {
    size_t end = pos;
    // The field runs until a line that does not start with WSP.
    for (;;) {
      auto nl = fields.find("\r\n", end);
      end = nl == std::string_view::npos ? fields.size() : nl + 2;
      if (end >= fields.size() || (fields[end] != ' ' && fields[end] != '\t')) break;
    }
    auto whole = fields.substr(pos, end - pos);
    auto colon = whole.find(':');
    auto name =
        colon == std::string_view::npos ? std::string_view() : base::trim(whole.substr(0, colon));
    auto value = colon == std::string_view::npos ? std::string_view() : whole.substr(colon + 1);
    f(name, value, whole);
    pos = end;
  }
}

}  // namespace

std::vector<std::string> mailbox_addresses(std::string_view value) {
  std::vector<std::string> out;
  std::string current, angle;
  bool in_quote = false, in_angle = false, has_angle = false;
  int comment = 0;
  auto finish = [&] {
    auto a = std::string(base::trim(has_angle ? angle : current));
    if (a.find('@') != std::string::npos) out.push_back(a);
    current.clear();
    angle.clear();
    has_angle = false;
  };
  for (size_t i = 0; i < value.size(); ++i) {
    char c = value[i];
    if (in_quote) {
      if (c == '\\' && i + 1 < value.size())
        ++i;
      else if (c == '"')
        in_quote = false;
      continue;
    }
    if (comment > 0) {
      if (c == '\\' && i + 1 < value.size())
        ++i;
      else if (c == '(')
        ++comment;
      else if (c == ')')
        --comment;
      continue;
    }
    if (in_angle) {
      if (c == '>')
        in_angle = false;
      else
        angle += c;
      continue;
    }
    switch (c) {
      case '"':
        in_quote = true;
        break;
      case '(':
        comment = 1;
        break;
      case '<':
        in_angle = true;
        has_angle = true;
        angle.clear();
        break;
      case ',':
      case ';':
        finish();
        break;
      case ':':  // a group's name ends; its members follow
        current.clear();
        break;
      case '\r':
      case '\n':
        break;
      default:
        current += c;
    }
  }
  finish();
  return out;
}

header_facts read_header(std::string_view fields) {
  header_facts h;
  each_field(fields, [&](std::string_view name, std::string_view value, std::string_view) {
    if (base::iequals(name, "From")) {
      for (auto& a : mailbox_addresses(value)) h.from.push_back(a);
    } else if (base::iequals(name, "Date")) {
      h.date = true;
    } else if (base::iequals(name, "Message-ID")) {
      h.message_id = true;
    } else if (base::iequals(name, "Sender")) {
      h.sender = true;
    }
  });
  return h;
}

std::string rewrite_header(std::string_view fields, std::string_view added) {
  std::string out;
  out.reserve(fields.size() + added.size());
  each_field(fields, [&](std::string_view name, std::string_view, std::string_view whole) {
    if (!base::iequals(name, "Bcc")) out += whole;
  });
  if (!out.empty() && !out.ends_with("\r\n")) out += "\r\n";
  out += added;
  return out;
}

}  // namespace postern::session::submission
