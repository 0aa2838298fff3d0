#pragma once
// Decoding manifests: YAML (several documents, `---`) or JSON, a single object or a v1 List / PodList.
// Every diagnostic names the file, the line and the field path; unknown fields are warnings.
#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "api/types.h"
#include "util/result.h"

namespace nanolet::api {

struct Diagnostic {
  std::string file;
  int line = 0;           // 1-based; 0 when unknown
  std::string field;      // "spec.containers[0].image"; "" for document-level problems
  std::string message;    // upstream wording: "Required value", "Unsupported value: \"Sometimes\": ..."
  bool warning = false;
  // "FILE:LINE: field.path: message" (parts that are empty are left out).
  std::string ToString() const;
};

using Object = std::variant<Pod, Workload, ConfigMap, Secret, Node, Lease, Event>;

struct DecodedObject {
  Object object;
  int line = 0;  // line where the document (or List item) starts
  // Field path -> line where the field's value starts ("spec.containers[0].image" -> 12). Validation errors
  // are mapped to lines through this (longest matching prefix).
  std::map<std::string, int> lines;
  // Line for a field path: the entry itself, else the nearest recorded ancestor, else `line`.
  int LineOf(std::string_view field_path) const;
};

struct DecodeResult {
  std::vector<DecodedObject> objects;
  std::vector<Diagnostic> errors;    // decode errors: the object they concern is not in `objects`
  std::vector<Diagnostic> warnings;  // unknown fields, ignored kinds
};

struct DecodeOptions {
  size_t max_bytes = 16 << 20;  // larger inputs are refused with an error
  size_t max_nodes = 1 << 20;   // YAML nodes after alias expansion (billion laughs)
  int max_depth = 100;          // nesting depth
};

// Decodes every object in `data`; `file` names the source in diagnostics. Never throws, never crashes.
DecodeResult DecodeManifest(std::string_view data, std::string_view file, const DecodeOptions& opts = {});

// Decoding from an already parsed JSON object (apiserver watch events, manifest URL bodies).
Result<Pod> DecodePod(const nlohmann::json& j);
Result<ConfigMap> DecodeConfigMap(const nlohmann::json& j);
Result<Secret> DecodeSecret(const nlohmann::json& j);
Result<Node> DecodeNode(const nlohmann::json& j);
Result<Lease> DecodeLease(const nlohmann::json& j);

}  // namespace nanolet::api
