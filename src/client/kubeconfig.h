#pragma once
// kubeconfig files, as client-go's clientcmd: the current context (or an explicit one) selects a
// cluster (server, certificate-authority / -data, insecure-skip-tls-verify) and a user
// (client-certificate / -key and their -data forms, token, tokenFile). Relative file paths are
// resolved against the kubeconfig's directory, as clientcmd does. -data fields are base64 (PEM
// inside). Nothing is read from the network.
#include <string>
#include <string_view>

#include "util/clock.h"
#include "util/result.h"

namespace nanolet::client {

// What a REST client needs to reach one apiserver (client-go's rest.Config, the parts nanolet
// uses).
struct RestConfig {
  std::string server;  // "https://host:port", no trailing slash
  // TLS: the CA bundle and the client certificate, each as PEM bytes or a file (bytes win when both
  // are set).
  std::string ca_data, ca_file;
  std::string cert_data, cert_file;
  std::string key_data, key_file;
  bool insecure_skip_tls_verify = false;
  // Bearer token; token_file is re-read when it changes (bound service-account tokens rotate).
  std::string token, token_file;
  // Client-side rate limit (upstream kubelet defaults --kube-api-qps 50, --kube-api-burst 100).
  double qps = 50;
  int burst = 100;
  Duration timeout = std::chrono::seconds(30);  // per non-watch request
  std::string user_agent = "nanolet";
};

// Parses kubeconfig YAML; `base_dir` resolves relative paths; `context` overrides current-context
// when non-empty. Errors name the missing or bad entry ("context \"x\" not found", "cluster \"c\":
// no server").
Result<RestConfig> ParseKubeconfig(std::string_view yaml, const std::string& base_dir,
                                   const std::string& context = "");
// Reads and parses a kubeconfig file.
Result<RestConfig> LoadKubeconfig(const std::string& path, const std::string& context = "");

}  // namespace nanolet::client
