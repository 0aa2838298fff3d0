#pragma once
// Internal to src/api: YAML (and JSON, which is YAML flow) text to nlohmann::json documents, with
// the line of every value, bounded in depth, node count (alias expansion) and size. Scalars resolve
// as sigs.k8s.io/yaml (go-yaml v2) does: plain `80` is a number, `"80"` a string, `yes`/`true`
// booleans, `0644` octal.
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

namespace nanolet::api::internal {

struct YamlDoc {
  nlohmann::json value;
  int line = 0;  // 1-based line where the document starts
  // Generic path ("spec.containers[0].image"; map keys joined with '.') -> 1-based line.
  std::unordered_map<std::string, int> lines;
  std::vector<std::pair<int, std::string>> warnings;  // line, message (duplicate keys)
};

struct YamlLimits {
  size_t max_nodes = 1 << 20;
  int max_depth = 100;
};

struct YamlParse {
  std::vector<YamlDoc> docs;
  bool failed = false;  // a syntax or limit error stopped parsing; earlier documents are kept
  int error_line = 0;
  std::string error;
};

YamlParse ParseYaml(std::string_view data, const YamlLimits& limits);

// Path helpers shared with the decoder, so both build identical keys for the line map.
inline std::string JoinKey(const std::string& parent, std::string_view key) {
  return parent.empty() ? std::string(key) : parent + "." + std::string(key);
}
inline std::string JoinIndex(const std::string& parent, size_t i) {
  return parent + "[" + std::to_string(i) + "]";
}

}  // namespace nanolet::api::internal

namespace nanolet::api::internal {
// True when `s` written as a plain YAML scalar would read back as a string (not null, bool or
// number): the emitter quotes the others.
bool PlainScalarIsString(const std::string& s);
}  // namespace nanolet::api::internal
