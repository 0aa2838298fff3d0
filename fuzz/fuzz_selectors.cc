// labelSelector and fieldSelector come straight from HTTP query strings: parsing must never crash
// or hang, and a parsed selector must be usable on any pod. Input: the label selector, a newline,
// the field selector.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "server/selectors.h"

namespace {

nanolet::api::Pod FuzzPod(int i) {
  nanolet::api::Pod p;
  p.metadata.name = i ? "web" : "";
  p.metadata.namespace_ = "default";
  if (i) p.metadata.labels = {{"app", "web"}, {"tier", ""}, {"a.b/c-d_e", "x.y"}};
  p.spec.node_name = "node1";
  p.spec.restart_policy = "Always";
  p.status.phase = i ? "Running" : "";
  p.status.pod_ip = "10.88.0.5";
  return p;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const nanolet::api::Pod pods[] = {FuzzPod(0), FuzzPod(1)};
  std::string_view in(reinterpret_cast<const char*>(data), size);
  size_t nl = in.find('\n');
  std::string labels(in.substr(0, nl));
  std::string fields(nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1));
  for (const auto& text : {labels, fields}) {
    for (bool as_fields : {false, true}) {
      auto s = as_fields ? nanolet::server::Selector::ParseFields(text)
                         : nanolet::server::Selector::ParseLabels(text);
      if (!s.ok()) {
        (void)s.error().message();
        continue;
      }
      for (const auto& p : pods) (void)s->Matches(p);
    }
  }
  return 0;
}
