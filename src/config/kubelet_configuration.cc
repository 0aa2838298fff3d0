#include "config/kubelet_configuration.h"

#include <yaml-cpp/yaml.h>

#include "util/fs.h"
#include "util/timefmt.h"

namespace nanolet::config {

Result<KubeletConfiguration> LoadKubeletConfiguration(const std::string& path) {
  ASSIGN_OR_RETURN(std::string data, ReadFile(path, 1 << 20));
  KubeletConfiguration c;
  try {
    YAML::Node root = YAML::Load(data);
    if (!root.IsMap()) return Invalid(path + ": not a KubeletConfiguration (expected a mapping)");
    std::string kind = root["kind"] ? root["kind"].as<std::string>() : "";
    if (kind != "KubeletConfiguration") {
      return Invalid(path + ": kind is \"" + kind + "\", expected KubeletConfiguration");
    }
    for (const auto& kv : root) {
      std::string key = kv.first.as<std::string>();
      const YAML::Node& v = kv.second;
      auto dur = [&](std::optional<Duration>& out) -> Result<void> {
        auto d = ParseDuration(v.as<std::string>());
        if (!d.ok()) return Invalid(path + ": " + key + ": " + d.error().message());
        out = *d;
        return Ok();
      };
      if (key == "apiVersion" || key == "kind") continue;
      if (key == "staticPodPath") c.static_pod_path = v.as<std::string>();
      else if (key == "staticPodURL") c.static_pod_url = v.as<std::string>();
      else if (key == "staticPodURLHeader") {
        for (const auto& h : v) {
          for (const auto& val : h.second) c.static_pod_url_header.emplace_back(h.first.as<std::string>(), val.as<std::string>());
        }
      } else if (key == "syncFrequency") RETURN_IF_ERROR(dur(c.sync_frequency));
      else if (key == "fileCheckFrequency") RETURN_IF_ERROR(dur(c.file_check_frequency));
      else if (key == "httpCheckFrequency") RETURN_IF_ERROR(dur(c.http_check_frequency));
      else if (key == "nodeStatusUpdateFrequency") RETURN_IF_ERROR(dur(c.node_status_update_frequency));
      else if (key == "nodeLeaseDurationSeconds") {
        int n = v.as<int>();
        if (n <= 0) return Invalid(path + ": nodeLeaseDurationSeconds: must be greater than 0");
        c.node_lease_duration_seconds = n;
      }
      else if (key == "address") c.address = v.as<std::string>();
      else if (key == "readOnlyPort") c.read_only_port = v.as<int>();
      else if (key == "port") c.port = v.as<int>();
      else if (key == "maxPods") c.max_pods = v.as<int>();
      else if (key == "containerLogMaxSize") c.container_log_max_size = v.as<std::string>();
      else if (key == "containerLogMaxFiles") c.container_log_max_files = v.as<int>();
      else if (key == "tlsCertFile") c.tls_cert_file = v.as<std::string>();
      else if (key == "tlsPrivateKeyFile") c.tls_private_key_file = v.as<std::string>();
      else c.ignored_fields.push_back(key);
    }
  } catch (const YAML::Exception& e) {
    return Invalid(path + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  return c;
}

}  // namespace nanolet::config
