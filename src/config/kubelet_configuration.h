#pragma once
// `--config FILE`: a kubelet.config.k8s.io/v1beta1 KubeletConfiguration. The fields nanolet acts on are
// read; the rest are accepted (a kubelet config written for upstream works here) and listed as ignored.
// Flags given on the command line win over the file, as upstream.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "util/clock.h"
#include "util/result.h"

namespace nanolet::config {

struct KubeletConfiguration {
  std::optional<std::string> static_pod_path;
  std::optional<std::string> static_pod_url;
  std::vector<std::pair<std::string, std::string>> static_pod_url_header;
  std::optional<Duration> sync_frequency;
  std::optional<Duration> file_check_frequency;
  std::optional<Duration> http_check_frequency;
  std::optional<Duration> node_status_update_frequency;
  // nodeLeaseDurationSeconds (> 0): the node Lease's duration; it is renewed every quarter of it, as
  // upstream (no flag upstream either).
  std::optional<int> node_lease_duration_seconds;
  std::optional<std::string> address;
  std::optional<int> read_only_port;
  std::optional<int> port;
  std::optional<int> max_pods;
  std::optional<std::string> container_log_max_size;
  std::optional<int> container_log_max_files;
  std::optional<std::string> tls_cert_file;
  std::optional<std::string> tls_private_key_file;
  std::vector<std::string> ignored_fields;
};

// Errors name the file and the field ("kubelet.yaml: syncFrequency: invalid duration \"1x\"").
Result<KubeletConfiguration> LoadKubeletConfiguration(const std::string& path);

}  // namespace nanolet::config
