#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace nanolet {

std::vector<std::string> Split(std::string_view s, char sep);
std::string Join(const std::vector<std::string>& parts, std::string_view sep);
std::string_view Trim(std::string_view s);
bool StartsWith(std::string_view s, std::string_view prefix);
bool EndsWith(std::string_view s, std::string_view suffix);
// Lower-case hex of bytes.
// Go's %q for a string (quotes, backslashes, control bytes escaped), as upstream error messages print values.
std::string Quote(std::string_view s);

std::string HexEncode(std::string_view bytes);
// SHA-256 of data as lower-case hex (64 characters).
std::string Sha256Hex(std::string_view data);
// MD5 of data as lower-case hex (32 characters); static pod UIDs and config hashes are MD5 upstream.
std::string Md5Hex(std::string_view data);

}  // namespace nanolet
