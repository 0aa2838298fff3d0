#include "runtime/volume/projection.h"

#include <unistd.h>

#include <cstdio>

#include "util/strings.h"

namespace nanolet::volume {
namespace projection_detail {

// Looks the object up; a missing object is nullopt, any other failure an error.
template <typename T>
Result<std::optional<std::map<std::string, std::string>>> Lookup(
    const Result<T>& r, std::map<std::string, std::string> (*data)(const T&)) {
  if (r.ok()) return std::optional(data(*r));
  if (r.error().is(ErrorCode::kNotFound))
    return std::optional<std::map<std::string, std::string>>();
  return r.error();
}

std::map<std::string, std::string> CmData(const api::ConfigMap& cm) {
  std::map<std::string, std::string> data(cm.data.begin(), cm.data.end());
  for (const auto& [k, v] : cm.binary_data) data[k] = v;
  return data;
}
std::map<std::string, std::string> SecretData(const api::Secret& s) { return s.data; }

int64_t NodeMilliCPU() { return static_cast<int64_t>(::sysconf(_SC_NPROCESSORS_ONLN)) * 1000; }
int64_t NodeMemoryBytes() {
  return static_cast<int64_t>(::sysconf(_SC_PHYS_PAGES)) *
         static_cast<int64_t>(::sysconf(_SC_PAGESIZE));
}

}  // namespace projection_detail

using namespace projection_detail;

Result<void> ValidateObjectKey(const std::string& key) {
  std::string q = "\"" + key + "\"";
  if (key.empty()) return Invalid("invalid key \"\": must not be empty");
  if (key.size() > 253)
    return Invalid("invalid key " + q + ": must be no more than 253 characters");
  for (char c : key) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.';
    if (!ok)
      return Invalid("invalid key " + q +
                     ": must consist of alphanumeric characters, '-', '_' or '.'");
  }
  if (key == "." || key == "..") return Invalid("invalid key " + q + ": must not be '" + key + "'");
  if (key.starts_with("..")) return Invalid("invalid key " + q + ": must not start with '..'");
  return Ok();
}

Result<Payload> KeyPayload(const char* kind, const std::string& name,
                           const std::optional<std::map<std::string, std::string>>& data,
                           const std::vector<api::KeyToPath>& items, uint32_t default_mode,
                           bool optional) {
  Payload out;
  if (!data) {
    if (optional) return out;
    return NotFound(std::string(kind) + " \"" + name + "\" not found");
  }
  if (items.empty()) {
    for (const auto& [k, v] : *data) {
      RETURN_IF_ERROR_CTX(ValidateObjectKey(k), std::string(kind) + " \"" + name + "\"");
      out[k] = {v, default_mode};
    }
    return out;
  }
  for (const auto& it : items) {
    auto d = data->find(it.key);
    if (d == data->end()) {
      if (optional) continue;
      return NotFound(std::string(kind) + " references non-existent " + kind + " key: " + it.key);
    }
    RETURN_IF_ERROR_CTX(ValidatePayloadPath(it.path), "item \"" + it.key + "\"");
    out[it.path] = {d->second, it.mode ? static_cast<uint32_t>(*it.mode) : default_mode};
  }
  return out;
}

std::string FormatDownwardMap(const std::map<std::string, std::string>& m) {
  std::string s;
  for (const auto& [k, v] : m) s += k + "=" + Quote(v) + "\n";
  if (!s.empty()) s.pop_back();
  return s;
}

Result<std::string> DownwardFieldValue(const api::Pod& pod, const std::string& path) {
  auto subscript = [&](const std::string& prefix,
                       const api::StringMap& m) -> std::optional<std::string> {
    if (!path.starts_with(prefix + "['") || !path.ends_with("']")) return std::nullopt;
    auto it = m.find(path.substr(prefix.size() + 2, path.size() - prefix.size() - 4));
    return it == m.end() ? std::string() : it->second;
  };
  if (path == "metadata.name") return pod.metadata.name;
  if (path == "metadata.namespace") return pod.metadata.namespace_;
  if (path == "metadata.uid") return pod.metadata.uid;
  if (path == "metadata.labels") {
    return FormatDownwardMap(
        std::map<std::string, std::string>(pod.metadata.labels.begin(), pod.metadata.labels.end()));
  }
  if (path == "metadata.annotations") {
    return FormatDownwardMap(std::map<std::string, std::string>(pod.metadata.annotations.begin(),
                                                                pod.metadata.annotations.end()));
  }
  if (auto v = subscript("metadata.labels", pod.metadata.labels)) return *v;
  if (auto v = subscript("metadata.annotations", pod.metadata.annotations)) return *v;
  return Invalid("unsupported fieldRef \"" + path + "\"");
}

Result<std::string> DownwardResourceValue(const api::Pod& pod,
                                          const api::ResourceFieldSelector& sel,
                                          const std::string& default_container) {
  std::string name = sel.container_name.empty() ? default_container : sel.container_name;
  const api::Container* c = nullptr;
  for (const auto* list : {&pod.spec.containers, &pod.spec.init_containers}) {
    for (const auto& x : *list) {
      if (x.name == name) c = &x;
    }
  }
  if (!c) return Invalid("resourceFieldRef: container \"" + name + "\" not found");
  auto dot = sel.resource.find('.');
  std::string kind = dot == std::string::npos ? "" : sel.resource.substr(0, dot);
  std::string res = dot == std::string::npos ? "" : sel.resource.substr(dot + 1);
  if ((kind != "limits" && kind != "requests") ||
      (res != "cpu" && res != "memory" && res != "ephemeral-storage")) {
    return Invalid("unsupported resourceFieldRef \"" + sel.resource + "\"");
  }
  const auto& m = kind == "limits" ? c->resources.limits : c->resources.requests;
  int64_t milli = 0;
  if (auto it = m.find(res); it != m.end()) {
    milli = it->second.MilliValue();
  } else if (kind == "limits") {
    // As upstream MergeContainerResourceLimits: no limit reads as the node's allocatable.
    if (res == "cpu") milli = NodeMilliCPU();
    if (res == "memory") milli = NodeMemoryBytes() * 1000;
  } else if (auto lim = c->resources.limits.find(res); lim != c->resources.limits.end()) {
    milli = lim->second.MilliValue();  // requests default to limits
  }
  int64_t div = sel.divisor && !sel.divisor->IsZero() ? sel.divisor->MilliValue() : 1000;
  if (div <= 0) div = 1000;
  return std::to_string((milli + div - 1) / div);  // rounded up, as upstream
}

Result<Payload> DownwardAPIPayload(const api::Pod& pod,
                                   const std::vector<api::DownwardAPIVolumeFile>& items,
                                   uint32_t default_mode) {
  Payload out;
  for (const auto& it : items) {
    RETURN_IF_ERROR(ValidatePayloadPath(it.path));
    std::string value;
    if (it.field_ref) {
      ASSIGN_OR_RETURN(value, DownwardFieldValue(pod, it.field_ref->field_path));
    } else if (it.resource_field_ref) {
      ASSIGN_OR_RETURN_CTX(value, DownwardResourceValue(pod, *it.resource_field_ref),
                           "item \"" + it.path + "\"");
    } else {
      return Invalid("downwardAPI item \"" + it.path + "\": needs fieldRef or resourceFieldRef");
    }
    out[it.path] = {std::move(value), it.mode ? static_cast<uint32_t>(*it.mode) : default_mode};
  }
  return out;
}

Result<Payload> VolumePayload(const api::Pod& pod, const api::Volume& v,
                              const ObjectProvider* objects, std::vector<std::string>* notes) {
  const std::string& ns =
      pod.metadata.namespace_.empty() ? std::string("default") : pod.metadata.namespace_;
  auto cm_payload = [&](const api::ConfigMapVolumeSource& s, uint32_t mode) -> Result<Payload> {
    std::optional<std::map<std::string, std::string>> data;
    if (objects) {
      ASSIGN_OR_RETURN(data, Lookup<api::ConfigMap>(objects->GetConfigMap(ns, s.name), &CmData));
    }
    return KeyPayload("configmap", s.name, data, s.items, mode, s.optional.value_or(false));
  };
  auto secret_payload = [&](const api::SecretVolumeSource& s, uint32_t mode) -> Result<Payload> {
    std::optional<std::map<std::string, std::string>> data;
    if (objects) {
      ASSIGN_OR_RETURN(data,
                       Lookup<api::Secret>(objects->GetSecret(ns, s.secret_name), &SecretData));
    }
    return KeyPayload("secret", s.secret_name, data, s.items, mode, s.optional.value_or(false));
  };
  auto mode_of = [](const std::optional<int32_t>& m) {
    return m ? static_cast<uint32_t>(*m) : 0644u;
  };
  if (v.config_map) return cm_payload(*v.config_map, mode_of(v.config_map->default_mode));
  if (v.secret) return secret_payload(*v.secret, mode_of(v.secret->default_mode));
  if (v.downward_api)
    return DownwardAPIPayload(pod, v.downward_api->items, mode_of(v.downward_api->default_mode));
  if (v.projected) {
    uint32_t mode = mode_of(v.projected->default_mode);
    Payload out;
    for (const auto& src : v.projected->sources) {
      Payload part;
      if (src.config_map) {
        ASSIGN_OR_RETURN(part, cm_payload(*src.config_map, mode));
      } else if (src.secret) {
        ASSIGN_OR_RETURN(part, secret_payload(*src.secret, mode));
      } else if (src.downward_api) {
        ASSIGN_OR_RETURN(part, DownwardAPIPayload(pod, src.downward_api->items, mode));
      } else if (src.service_account_token) {
        const auto& sat = *src.service_account_token;
        RETURN_IF_ERROR(ValidatePayloadPath(sat.path));
        Result<std::string> token = objects ? objects->GetServiceAccountToken(pod, sat)
                                            : Result<std::string>(Error("", ErrorCode::kUnavailable));
        if (token.ok()) {
          part[sat.path] = {std::move(*token), mode};
        } else if (token.error().is(ErrorCode::kUnavailable)) {
          if (notes) {
            notes->push_back("serviceAccountToken \"" + sat.path + "\" skipped: no apiserver to issue a token");
          }
        } else {
          return std::move(token).error().Wrap("serviceAccountToken \"" + sat.path + "\"");
        }
      }
      for (auto& [k, f] : part) out[k] = std::move(f);  // later sources win, as upstream
    }
    return out;
  }
  return Invalid("volume \"" + v.name +
                 "\" has no configMap, secret, downwardAPI or projected source");
}

}  // namespace nanolet::volume
