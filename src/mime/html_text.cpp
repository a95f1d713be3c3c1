// HTML to plain text (html_text.hpp).
#include "mime/html_text.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <string>

#include "base/strings.hpp"

namespace postern::mime {

namespace {

struct named_reference {
  std::string_view name;
  char32_t code;
};

// The HTML 4 named references mail uses.
constexpr std::array<named_reference, 63> references = {{
    {"AElig", 0xC6},   {"Aacute", 0xC1},  {"Agrave", 0xC0}, {"Auml", 0xC4},     {"Ccedil", 0xC7},
    {"Eacute", 0xC9},  {"Egrave", 0xC8},  {"Ntilde", 0xD1}, {"Oacute", 0xD3},   {"Ouml", 0xD6},
    {"Oslash", 0xD8},  {"Uacute", 0xDA},  {"Uuml", 0xDC},   {"aacute", 0xE1},   {"acirc", 0xE2},
    {"aelig", 0xE6},   {"agrave", 0xE0},  {"amp", '&'},     {"apos", '\''},     {"aring", 0xE5},
    {"auml", 0xE4},    {"bdquo", 0x201E}, {"bull", 0x2022}, {"ccedil", 0xE7},   {"cent", 0xA2},
    {"copy", 0xA9},    {"deg", 0xB0},     {"eacute", 0xE9}, {"ecirc", 0xEA},    {"egrave", 0xE8},
    {"euml", 0xEB},    {"euro", 0x20AC},  {"gt", '>'},      {"hellip", 0x2026}, {"iacute", 0xED},
    {"icirc", 0xEE},   {"iuml", 0xEF},    {"laquo", 0xAB},  {"ldquo", 0x201C},  {"lsquo", 0x2018},
    {"lt", '<'},       {"mdash", 0x2014}, {"middot", 0xB7}, {"nbsp", ' '},      {"ndash", 0x2013},
    {"ntilde", 0xF1},  {"oacute", 0xF3},  {"ocirc", 0xF4},  {"ouml", 0xF6},     {"oslash", 0xF8},
    {"pound", 0xA3},   {"quot", '"'},     {"raquo", 0xBB},  {"rdquo", 0x201D},  {"reg", 0xAE},
    {"rsquo", 0x2019}, {"sbquo", 0x201A}, {"szlig", 0xDF},  {"trade", 0x2122},  {"uacute", 0xFA},
    {"ucirc", 0xFB},   {"uuml", 0xFC},    {"yen", 0xA5},
}};

void append_utf8(char32_t c, std::string& out) {
  if (c == 0 || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) c = 0xFFFD;
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f'; }

// Tags after which a browser starts a new line or cell: they separate words.
bool breaks_words(std::string_view name) {
  static constexpr std::string_view block[] = {
      "address", "article", "aside", "blockquote", "br",         "caption", "dd",
      "div",     "dl",      "dt",    "fieldset",   "figcaption", "figure",  "footer",
      "form",    "h1",      "h2",    "h3",         "h4",         "h5",      "h6",
      "header",  "hr",      "img",   "input",      "li",         "main",    "nav",
      "ol",      "p",       "pre",   "section",    "table",      "tbody",   "td",
      "tfoot",   "th",      "thead", "title",      "tr",         "ul"};
  for (auto b : block)
    if (base::iequals(name, b)) return true;
  return false;
}

// Elements whose content is not text a reader sees.
bool hides_content(std::string_view name) {
  return base::iequals(name, "script") || base::iequals(name, "style") ||
         base::iequals(name, "template");
}

// A reference starting at html[i] == '&': appends what it stands for and
// returns the length consumed, or 0 when it is not one (the '&' stays).
size_t decode_reference(std::string_view html, size_t i, std::string& out) {
  size_t j = i + 1;
  if (j < html.size() && html[j] == '#') {
    ++j;
    bool hex = j < html.size() && (html[j] == 'x' || html[j] == 'X');
    if (hex) ++j;
    uint32_t value = 0;
    size_t digits = 0;
    for (; j < html.size() && digits < 8; ++j, ++digits) {
      char c = html[j];
      int d = c >= '0' && c <= '9'                            ? c - '0'
              : hex && (c | 0x20) >= 'a' && (c | 0x20) <= 'f' ? (c | 0x20) - 'a' + 10
                                                              : -1;
      if (d < 0) break;
      value = value * (hex ? 16 : 10) + static_cast<uint32_t>(d);
    }
    if (digits == 0) return 0;
    if (j < html.size() && html[j] == ';') ++j;
    append_utf8(value == 0xA0 ? U' ' : static_cast<char32_t>(value), out);
    return j - i;
  }
  size_t end = j;
  while (end < html.size() && end - j < 10 && std::isalnum(static_cast<unsigned char>(html[end])))
    ++end;
  std::string_view name = html.substr(j, end - j);
  static const auto sorted = [] {
    auto r = references;
    std::sort(r.begin(), r.end(), [](auto& a, auto& b) { return a.name < b.name; });
    return r;
  }();
  auto it =
      std::lower_bound(sorted.begin(), sorted.end(), name,
                       [](const named_reference& r, std::string_view n) { return r.name < n; });
  if (name.empty() || it == sorted.end() || it->name != name) return 0;
  if (end < html.size() && html[end] == ';') ++end;
  append_utf8(it->code, out);
  return end - i;
}

}  // namespace

std::string html_to_text(std::string_view html) {
  std::string out;
  out.reserve(html.size() / 2);
  bool pending_space = false;
  auto space = [&] { pending_space = !out.empty(); };
  auto text = [&](std::string_view t) {
    if (pending_space) out += ' ';
    pending_space = false;
    out += t;
  };
  size_t i = 0;
  while (i < html.size()) {
    char c = html[i];
    if (c == '<') {
      if (html.compare(i, 4, "<!--") == 0) {
        size_t end = html.find("-->", i + 4);
        if (end == std::string_view::npos) break;
        i = end + 3;
        continue;
      }
      size_t close = html.find('>', i + 1);
      if (close == std::string_view::npos) break;
      std::string_view tag = html.substr(i + 1, close - i - 1);
      bool closing = !tag.empty() && tag[0] == '/';
      if (closing) tag.remove_prefix(1);
      size_t n = 0;
      while (n < tag.size() && (std::isalnum(static_cast<unsigned char>(tag[n])) || tag[n] == '-'))
        ++n;
      std::string_view name = tag.substr(0, n);
      i = close + 1;
      if (!closing && hides_content(name)) {
        // Skip to the matching end tag ("</script", any case).
        std::string end_tag = "</" + std::string(name);
        size_t at = i;
        for (;;) {
          at = html.find("</", at);
          if (at == std::string_view::npos) return out;
          if (base::iequals(html.substr(at, end_tag.size()), end_tag)) break;
          at += 2;
        }
        size_t gt = html.find('>', at);
        if (gt == std::string_view::npos) return out;
        i = gt + 1;
        space();
        continue;
      }
      if (breaks_words(name)) space();
      continue;
    }
    if (is_space(c)) {
      space();
      ++i;
      continue;
    }
    if (c == '&') {
      std::string decoded;
      size_t used = decode_reference(html, i, decoded);
      if (used) {
        if (decoded == " ") {
          space();
        } else {
          text(decoded);
        }
        i += used;
        continue;
      }
    }
    size_t run = i + 1;
    while (run < html.size() && html[run] != '<' && html[run] != '&' && !is_space(html[run])) ++run;
    text(html.substr(i, run - i));
    i = run;
  }
  return out;
}

}  // namespace postern::mime
