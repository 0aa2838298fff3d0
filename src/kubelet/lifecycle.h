#pragma once
// Container lifecycle hooks (postStart, preStop) as upstream pkg/kubelet/lifecycle/handlers.go: exec runs
// in the container through the runtime; httpGet requests the pod IP (or host) on the named or numbered
// port; sleep waits. Blocking, bounded by `timeout`.
#include <chrono>
#include <string>

#include "api/types.h"
#include "util/result.h"

namespace nanolet::runtime {
class Runtime;
}

namespace nanolet::kubelet {

Result<void> RunLifecycleHook(runtime::Runtime& rt, const api::Pod& pod, const api::Container& c,
                              const std::string& container_id, const std::string& pod_ip,
                              const api::LifecycleHandler& handler, std::chrono::milliseconds timeout);

// Resolves a probe or hook port (a number, or the name of one of the container's ports); 0 when unknown.
int ResolvePort(const api::IntOrString& port, const api::Container& c);

// A GET with a deadline; returns the status code (redirects are not followed).
Result<int> HttpGet(const std::string& url, const std::vector<api::HTTPHeader>& headers,
                    std::chrono::milliseconds timeout, std::string* body_prefix = nullptr);

}  // namespace nanolet::kubelet
