// Small string helpers used by parsers and formatters.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace postern::base {

bool iequals(std::string_view a, std::string_view b);
std::string to_lower(std::string_view s);
std::string to_upper(std::string_view s);
std::string_view trim(std::string_view s);
std::string join(const std::vector<std::string>& parts, std::string_view sep);
// Splits on `sep`, dropping empty pieces.
std::vector<std::string> split(std::string_view s, char sep);

// Parses a whole decimal number with no sign, spaces or leading '+'.
std::optional<uint64_t> parse_u64(std::string_view s);

// Renders untrusted bytes for an error message or log line: printable ASCII
// kept, everything else as \xNN, cut at max_len with "...".
std::string printable(std::string_view s, size_t max_len = 40);

std::optional<std::string> base64_decode(std::string_view in);
std::string base64_encode(std::string_view in);

// Lower-cases the domain part and keeps the local part as typed; trims space.
std::string normalize_address(std::string_view address);

}  // namespace postern::base
