#include "runtime/image/reference.h"

#include <cctype>

namespace nanolet::image {
namespace {

constexpr size_t kNameTotalLengthMax = 255;

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool IsHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }
bool IsWordChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// nameComponent: [a-z0-9]+ ((\.|_|__|-+) [a-z0-9]+)*
bool IsValidNameComponent(std::string_view c) {
  if (c.empty() || !IsLowerAlnum(c.front()) || !IsLowerAlnum(c.back())) return false;
  for (size_t i = 0; i < c.size();) {
    if (IsLowerAlnum(c[i])) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < c.size() && !IsLowerAlnum(c[j])) ++j;
    std::string_view sep = c.substr(i, j - i);
    bool dashes = sep.find_first_not_of('-') == std::string_view::npos;
    if (!(sep == "." || sep == "_" || sep == "__" || dashes)) return false;
    i = j;
  }
  return true;
}

// domainComponent: [a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]
bool IsValidDomainComponent(std::string_view c) {
  if (c.empty()) return false;
  auto alnum = [](char ch) { return std::isalnum(static_cast<unsigned char>(ch)) != 0; };
  if (!alnum(c.front()) || !alnum(c.back())) return false;
  for (char ch : c) {
    if (!alnum(ch) && ch != '-') return false;
  }
  return true;
}

// domain: domainComponent (\. domainComponent)* (:[0-9]+)?, or a bracketed IPv6 address with
// optional port.
bool IsValidDomain(std::string_view d) {
  std::string_view host = d;
  if (!d.empty() && d.front() == '[') {
    size_t close = d.find(']');
    if (close == std::string_view::npos || close < 3) return false;
    for (char ch : d.substr(1, close - 1)) {
      if (!std::isxdigit(static_cast<unsigned char>(ch)) && ch != ':') return false;
    }
    std::string_view rest = d.substr(close + 1);
    if (rest.empty()) return true;
    if (rest.front() != ':' || rest.size() < 2) return false;
    for (char ch : rest.substr(1)) {
      if (!std::isdigit(static_cast<unsigned char>(ch))) return false;
    }
    return true;
  }
  size_t colon = d.find(':');
  if (colon != std::string_view::npos) {
    std::string_view port = d.substr(colon + 1);
    if (port.empty()) return false;
    for (char ch : port) {
      if (!std::isdigit(static_cast<unsigned char>(ch))) return false;
    }
    host = d.substr(0, colon);
  }
  size_t start = 0;
  for (;;) {
    size_t dot = host.find('.', start);
    if (!IsValidDomainComponent(host.substr(start, dot - start))) return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

bool Is64Hex(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!IsHex(c)) return false;
  }
  return true;
}

}  // namespace

bool IsValidDigest(std::string_view d) {
  return d.size() == 71 && d.substr(0, 7) == "sha256:" && Is64Hex(d.substr(7));
}

bool IsValidTag(std::string_view t) {
  if (t.empty() || t.size() > 128 || !IsWordChar(t.front())) return false;
  for (char c : t) {
    if (!IsWordChar(c) && c != '.' && c != '-') return false;
  }
  return true;
}

std::string Reference::String() const {
  std::string s = Name();
  if (!tag.empty()) s += ":" + tag;
  if (!digest.empty()) s += "@" + digest;
  return s;
}

Result<Reference> ParseReference(std::string_view s) {
  const std::string quoted = "\"" + std::string(s) + "\"";
  if (s.empty())
    return Invalid("invalid reference format: repository name must have at least one component");
  if (Is64Hex(s)) {
    return Invalid("invalid repository name (" + std::string(s) +
                   "), cannot specify 64-byte hexadecimal strings");
  }
  Reference ref;
  std::string_view rest = s;
  if (size_t at = rest.find('@'); at != std::string_view::npos) {
    std::string_view digest = rest.substr(at + 1);
    size_t colon = digest.find(':');
    if (colon != std::string_view::npos && digest.substr(0, colon) != "sha256" &&
        digest.size() > colon + 32) {
      return Invalid("invalid reference " + quoted + ": unsupported digest algorithm " +
                     std::string(digest.substr(0, colon)));
    }
    if (!IsValidDigest(digest))
      return Invalid("invalid reference format: " + quoted + ": invalid digest");
    ref.digest = std::string(digest);
    rest = rest.substr(0, at);
  }
  size_t colon = rest.rfind(':');
  size_t slash = rest.rfind('/');
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
    std::string_view tag = rest.substr(colon + 1);
    if (!IsValidTag(tag)) return Invalid("invalid reference format: " + quoted + ": invalid tag");
    ref.tag = std::string(tag);
    rest = rest.substr(0, colon);
  }
  if (rest.empty()) return Invalid("invalid reference format: " + quoted);

  // splitDockerDomain
  size_t i = rest.find('/');
  std::string_view first = rest.substr(0, i);
  bool has_upper = false;
  for (char c : first) has_upper |= std::isupper(static_cast<unsigned char>(c)) != 0;
  std::string_view remote;
  if (i == std::string_view::npos ||
      (first.find_first_of(".:") == std::string_view::npos && first != "localhost" && !has_upper)) {
    ref.domain = "docker.io";
    remote = rest;
  } else {
    ref.domain = std::string(first);
    remote = rest.substr(i + 1);
  }
  if (ref.domain == "index.docker.io") ref.domain = "docker.io";
  ref.path = std::string(remote);
  if (ref.domain == "docker.io" && remote.find('/') == std::string_view::npos)
    ref.path = "library/" + ref.path;

  for (char c : ref.path) {
    if (std::isupper(static_cast<unsigned char>(c))) {
      return Invalid("invalid reference format: repository name (" + ref.path +
                     ") must be lowercase");
    }
  }
  if (!IsValidDomain(ref.domain))
    return Invalid("invalid reference format: " + quoted + ": invalid registry host");
  size_t start = 0;
  for (;;) {
    size_t next = ref.path.find('/', start);
    if (!IsValidNameComponent(std::string_view(ref.path).substr(start, next - start))) {
      return Invalid("invalid reference format: " + quoted);
    }
    if (next == std::string::npos) break;
    start = next + 1;
  }
  if (ref.Name().size() > kNameTotalLengthMax) {
    return Invalid(
        "invalid reference format: repository name must not be more than 255 characters");
  }
  if (ref.tag.empty() && ref.digest.empty()) ref.tag = "latest";
  return ref;
}

}  // namespace nanolet::image
