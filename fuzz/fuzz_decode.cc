// Manifest decoding must never crash, hang or leak on any input; whatever decodes must default,
// validate and encode, and the encoding must decode back to the same object.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include <nlohmann/json.hpp>

#include "api/decode.h"
#include "api/defaults.h"
#include "api/encode.h"
#include "api/validation.h"

namespace {

using namespace nanolet::api;

template <typename T, typename Decode>
void RoundTrip(const T& obj, Decode decode) {
  nlohmann::json j = Encode(obj);
  (void)j.dump();  // strict: every decoded string must be valid UTF-8 (throws otherwise)
  auto back = decode(j);
  if (!back.ok() || !(*back == obj)) {
    std::fprintf(stderr, "round trip mismatch: %s\n%s\n",
                 back.ok() ? "objects differ" : back.error().message().c_str(),
                 j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  DecodeOptions opts;
  opts.max_nodes = 1 << 16;  // keep each run fast; the limits themselves are under test
  DecodeResult r = DecodeManifest(text, "fuzz.yaml", opts);
  for (const auto& d : r.errors) (void)d.ToString();
  for (auto& obj : r.objects) {
    if (auto* pod = std::get_if<Pod>(&obj.object)) {
      RoundTrip(*pod, [](const nlohmann::json& j) { return DecodePod(j); });
      SetDefaults(*pod);
      RoundTrip(*pod, [](const nlohmann::json& j) { return DecodePod(j); });
    } else if (auto* s = std::get_if<Secret>(&obj.object)) {
      SetDefaults(*s);
      RoundTrip(*s, [](const nlohmann::json& j) { return DecodeSecret(j); });
    } else if (auto* cm = std::get_if<ConfigMap>(&obj.object)) {
      RoundTrip(*cm, [](const nlohmann::json& j) { return DecodeConfigMap(j); });
    } else if (auto* n = std::get_if<Node>(&obj.object)) {
      RoundTrip(*n, [](const nlohmann::json& j) { return DecodeNode(j); });
    } else if (auto* l = std::get_if<Lease>(&obj.object)) {
      RoundTrip(*l, [](const nlohmann::json& j) { return DecodeLease(j); });
    } else if (auto* w = std::get_if<Workload>(&obj.object)) {
      SetDefaults(*w);
      (void)Encode(*w).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    } else if (auto* e = std::get_if<Event>(&obj.object)) {
      (void)Encode(*e);
    }
    for (const auto& d : Validate(obj, "fuzz.yaml")) (void)d.ToString();
  }
  return 0;
}
