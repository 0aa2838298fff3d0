#include "config/static_pod.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <type_traits>
#include <variant>

#include <nlohmann/json.hpp>

#include "api/defaults.h"
#include "api/encode.h"
#include "api/validation.h"
#include "config/pod_source.h"
#include "util/log.h"
#include "util/strings.h"
#include "util/timefmt.h"

namespace nanolet::config {
namespace {

api::Diagnostic MakeDiag(std::string_view file, int line, std::string field, std::string message,
                         bool warning = false) {
  api::Diagnostic d;
  d.file = std::string(file);
  d.line = line;
  d.field = std::move(field);
  d.message = std::move(message);
  d.warning = warning;
  return d;
}

// Splits validation output into errors and warnings.
void AddValidation(std::vector<api::Diagnostic> diags, ManifestContents& out) {
  for (auto& d : diags) {
    (d.warning ? out.warnings : out.errors).push_back(std::move(d));
  }
}

// As upstream helper.AddOrUpdateTolerationInPod: a toleration matching on key, operator, value and
// effect is replaced, otherwise the toleration is appended.
void AddOrUpdateToleration(api::PodSpec& spec, const api::Toleration& t) {
  for (auto& existing : spec.tolerations) {
    if (existing.key == t.key && existing.operator_ == t.operator_ && existing.value == t.value &&
        existing.effect == t.effect) {
      existing = t;
      return;
    }
  }
  spec.tolerations.push_back(t);
}

std::string StaticPodUid(const api::Pod& defaulted, const ManifestOrigin& origin) {
  // Upstream applyDefaults: md5(DeepHashObject(pod) + "host:<node>" + "file:<path>") for files,
  // md5(... + "url:<url>") for URLs. See static_pod.h for why the object is hashed as canonical
  // JSON.
  std::string material = api::Encode(defaulted).dump();
  if (origin.source == kSourceFile) {
    material += "host:" + origin.node_name;
    material += "file:" + origin.location;
  } else {
    material += "url:" + origin.location;
  }
  return Md5Hex(material);
}

void LoadPod(const api::DecodedObject& obj, api::Pod pod, const ManifestOrigin& origin,
             ManifestContents& out) {
  if (pod.metadata.name.empty()) {
    // Upstream tryDecodeSinglePod: "invalid pod: name is needed for the pod" (checked before the
    // node suffix would make any name non-empty).
    out.errors.push_back(MakeDiag(origin.location, obj.LineOf("metadata.name"), "metadata.name",
                                  "Required value: name is needed for the pod"));
    return;
  }
  api::SetDefaults(pod);
  ApplyStaticPodDefaults(pod, origin);
  api::DecodedObject final_obj{pod, obj.line, obj.lines};
  auto diags = api::Validate(final_obj, origin.location);
  bool failed =
      std::any_of(diags.begin(), diags.end(), [](const api::Diagnostic& d) { return !d.warning; });
  AddValidation(std::move(diags), out);
  if (!failed) out.pods.push_back(std::move(pod));
}

void DefaultNamespace(api::ObjectMeta& meta) {
  if (meta.namespace_.empty()) meta.namespace_ = "default";
}

}  // namespace

std::string StaticPodName(std::string_view name, std::string_view node_name) {
  std::string lower(node_name);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  std::string out(name);
  out += '-';
  out += lower;
  return out;
}

void ApplyStaticPodDefaults(api::Pod& pod, const ManifestOrigin& origin) {
  if (pod.metadata.uid.empty()) pod.metadata.uid = StaticPodUid(pod, origin);
  pod.metadata.name = StaticPodName(pod.metadata.name, origin.node_name);
  DefaultNamespace(pod.metadata);
  pod.spec.node_name = origin.node_name;
  pod.metadata.annotations[kConfigHashAnnotation] = pod.metadata.uid;
  // Upstream sets config.source in podStorage.merge; the sources set it too so their output stands
  // alone.
  pod.metadata.annotations[kConfigSourceAnnotation] = origin.source;
  if (origin.source == kSourceFile) {
    // Upstream: "Applying the default Taint tolerations to static pods, so they are not evicted
    // when there are node problems."
    api::Toleration t;
    t.operator_ = "Exists";
    t.effect = "NoExecute";
    AddOrUpdateToleration(pod.spec, t);
  }
  pod.status.phase = "Pending";
}

ManifestContents LoadManifest(std::string_view data, const ManifestOrigin& origin) {
  ManifestContents out;
  api::DecodeOptions opts;
  opts.max_bytes = kMaxManifestBytes;
  api::DecodeResult decoded = api::DecodeManifest(data, origin.location, opts);
  out.errors = std::move(decoded.errors);
  out.warnings = std::move(decoded.warnings);
  for (const auto& obj : decoded.objects) {
    std::visit(
        [&](const auto& o) {
          using T = std::decay_t<decltype(o)>;
          if constexpr (std::is_same_v<T, api::Pod>) {
            LoadPod(obj, o, origin, out);
          } else if constexpr (std::is_same_v<T, api::ConfigMap>) {
            api::ConfigMap cm = o;
            DefaultNamespace(cm.metadata);
            AddValidation(
                api::Validate(api::DecodedObject{cm, obj.line, obj.lines}, origin.location), out);
            out.config_maps.push_back(std::move(cm));
          } else if constexpr (std::is_same_v<T, api::Secret>) {
            api::Secret s = o;
            api::SetDefaults(s);
            DefaultNamespace(s.metadata);
            AddValidation(
                api::Validate(api::DecodedObject{s, obj.line, obj.lines}, origin.location), out);
            out.secrets.push_back(std::move(s));
          } else if constexpr (std::is_same_v<T, api::Workload>) {
            // Workloads are validated (so `nanolet check` and the log agree) and never run by a
            // kubelet.
            api::Workload w = o;
            api::SetDefaults(w);
            AddValidation(
                api::Validate(api::DecodedObject{w, obj.line, obj.lines}, origin.location), out);
            out.warnings.push_back(MakeDiag(
                origin.location, obj.line, "",
                "kind " + w.type_meta.kind + " is not run by the kubelet: only Pods are; ignored",
                true));
          } else {
            out.warnings.push_back(
                MakeDiag(origin.location, obj.line, "",
                         "kind " + o.type_meta.kind + " is not a static object: ignored", true));
          }
        },
        obj.object);
  }
  return out;
}

std::string FormatSeenTime(TimePoint now) {
  // Go's time.RFC3339Nano drops trailing zeros of the fraction (and the dot when nothing is left).
  std::string s = FormatRFC3339Nano(now);
  size_t dot = s.find('.');
  size_t z = s.rfind('Z');
  if (dot == std::string::npos || z == std::string::npos || z < dot) return s;
  size_t end = z;
  while (end > dot + 1 && s[end - 1] == '0') --end;
  if (end == dot + 1) end = dot;
  return s.substr(0, end) + s.substr(z);
}

void StampSeen(std::vector<api::Pod>& pods, const std::vector<api::Pod>& previous, TimePoint now) {
  std::map<std::string_view, const std::string*> seen;
  for (const auto& p : previous) {
    auto it = p.metadata.annotations.find(kConfigSeenAnnotation);
    if (it != p.metadata.annotations.end()) seen[p.metadata.uid] = &it->second;
  }
  std::string now_text = FormatSeenTime(now);
  for (auto& p : pods) {
    auto it = seen.find(p.metadata.uid);
    p.metadata.annotations[kConfigSeenAnnotation] = it != seen.end() ? *it->second : now_text;
  }
}

void LogManifestProblems(const ManifestContents& contents, std::string_view location) {
  for (const auto& d : contents.errors) {
    std::string text = d.ToString();
    log::Error("invalid manifest", {{"file", location}, {"error", text}});
  }
  for (const auto& d : contents.warnings) {
    std::string text = d.ToString();
    log::Warn("manifest warning", {{"file", location}, {"warning", text}});
  }
}

}  // namespace nanolet::config
