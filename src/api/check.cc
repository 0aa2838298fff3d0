#include "api/check.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <sstream>

#include <yaml-cpp/emitter.h>
#include <nlohmann/json.hpp>

#include "api/decode.h"
#include "api/defaults.h"
#include "api/encode.h"
#include "api/validation.h"
#include "api/yaml_json.h"

namespace nanolet::api {
namespace {

using nlohmann::json;

void EmitYaml(YAML::Emitter& e, const json& j) {
  switch (j.type()) {
    case json::value_t::object:
      if (j.empty()) e << YAML::Flow;
      e << YAML::BeginMap;
      for (auto& [k, v] : j.items()) {
        e << YAML::Key;
        if (internal::PlainScalarIsString(k)) {
          e << k;
        } else {
          e << YAML::DoubleQuoted << k;
        }
        e << YAML::Value;
        EmitYaml(e, v);
      }
      e << YAML::EndMap;
      break;
    case json::value_t::array:
      if (j.empty()) e << YAML::Flow;
      e << YAML::BeginSeq;
      for (const auto& v : j) EmitYaml(e, v);
      e << YAML::EndSeq;
      break;
    case json::value_t::string: {
      const std::string& s = j.get_ref<const std::string&>();
      if (internal::PlainScalarIsString(s)) {
        e << s;
      } else {
        e << YAML::DoubleQuoted << s;
      }
      break;
    }
    case json::value_t::boolean:
      e << j.get<bool>();
      break;
    case json::value_t::number_integer:
      e << j.get<int64_t>();
      break;
    case json::value_t::number_unsigned:
      e << j.get<uint64_t>();
      break;
    case json::value_t::number_float:
      e << j.get<double>();
      break;
    default:
      e << YAML::Null;
      break;
  }
}

// Reads a manifest file, refusing sizes above the decoder's limit before reading them.
bool ReadFile(const std::string& path, size_t max_bytes, std::string& data, std::string& error) {
  std::error_code ec;
  auto size = std::filesystem::file_size(path, ec);
  if (!ec && size > max_bytes) {
    error = "file is too large: " + std::to_string(size) + " bytes (the limit is " +
            std::to_string(max_bytes) + ")";
    return false;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = std::string("open: ") + std::strerror(errno);
    return false;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) {
    error = std::string("read: ") + std::strerror(errno);
    return false;
  }
  data = ss.str();
  return true;
}

// A directory stands for its *.yaml, *.yml and *.json files, in name order (as the kubelet's file
// source).
std::vector<std::string> Expand(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_directory(path, ec)) return {path};
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(path, ec)) {
    std::string ext = entry.path().extension().string();
    if (entry.is_regular_file(ec) && (ext == ".yaml" || ext == ".yml" || ext == ".json")) {
      files.push_back(entry.path().string());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

json DefaultAndEncode(DecodedObject& obj) {
  return std::visit(
      [](auto& o) -> json {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, Pod> || std::is_same_v<T, Workload> ||
                      std::is_same_v<T, Secret>) {
          SetDefaults(o);
        } else if constexpr (std::is_same_v<T, ConfigMap>) {
          if (o.metadata.namespace_.empty()) o.metadata.namespace_ = "default";
        }
        return Encode(o);
      },
      obj.object);
}

}  // namespace

int RunCheck(const std::vector<std::string>& files, const std::string& output, std::ostream& out,
             std::ostream& err) {
  if (!output.empty() && output != "json" && output != "yaml") {
    err << "error: unable to match a printer suitable for the output format \"" << output
        << "\", allowed formats are: json,yaml\n";
    return 1;
  }
  if (files.empty()) {
    err << "error: no manifest files given\n";
    return 1;
  }
  bool failed = false;
  std::vector<json> objects;
  DecodeOptions opts;
  for (const auto& arg : files) {
    for (const auto& file : Expand(arg)) {
      std::string data, error;
      if (!ReadFile(file, opts.max_bytes, data, error)) {
        err << file << ": " << error << "\n";
        failed = true;
        continue;
      }
      DecodeResult res = DecodeManifest(data, file, opts);
      for (const auto& w : res.warnings) err << w.ToString() << "\n";
      for (const auto& e : res.errors) err << e.ToString() << "\n";
      if (!res.errors.empty()) failed = true;
      for (auto& obj : res.objects) {
        json encoded = DefaultAndEncode(obj);
        auto problems = Validate(obj, file);
        for (const auto& p : problems) err << p.ToString() << "\n";
        if (!problems.empty()) failed = true;
        objects.push_back(std::move(encoded));
      }
    }
  }
  if (failed) return 1;
  if (output.empty() || objects.empty()) return 0;
  json doc;
  if (objects.size() == 1) {
    doc = std::move(objects.front());
  } else {
    doc = json{{"apiVersion", "v1"},
               {"kind", "List"},
               {"metadata", json{{"resourceVersion", ""}}},
               {"items", std::move(objects)}};
  }
  if (output == "json") {
    out << doc.dump(4, ' ', false, json::error_handler_t::replace) << "\n";
  } else {
    YAML::Emitter e;
    e.SetNullFormat(YAML::LowerNull);
    e.SetIndent(2);
    e.SetSeqFormat(YAML::Block);
    EmitYaml(e, doc);
    out << e.c_str() << "\n";
  }
  return 0;
}

}  // namespace nanolet::api
