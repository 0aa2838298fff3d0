#pragma once
// Internal to src/api: standard base64 (RFC 4648, padded), as Go's encoding/json uses for []byte.
#include <optional>
#include <string>
#include <string_view>

namespace nanolet::api::internal {

std::string Base64Encode(std::string_view bytes);
// Returns nullopt on malformed input; `bad_at` receives the offset of the first illegal byte.
std::optional<std::string> Base64Decode(std::string_view text, size_t* bad_at = nullptr);

}  // namespace nanolet::api::internal
