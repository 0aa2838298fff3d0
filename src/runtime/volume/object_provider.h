#pragma once
// Where configMap and secret volumes and env (configMapKeyRef, secretKeyRef, envFrom) get their
// objects. Standalone nodes: StaticObjectProvider, fed with the ConfigMap and Secret manifests of
// the manifest directory (a nanolet extension). With an apiserver, another implementation reads
// them from there.
//
// Thread-safety: implementations are read from pod workers (any thread) while their owner updates
// them.
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "api/types.h"
#include "util/result.h"

namespace nanolet::volume {

// Upstream's limit on the total data of one ConfigMap or Secret (MaxSecretSize, 1 MiB).
inline constexpr size_t kMaxObjectDataBytes = 1 << 20;

class ObjectProvider {
 public:
  virtual ~ObjectProvider() = default;
  // An error with ErrorCode::kNotFound when the object does not exist, kInvalid when it cannot be
  // used (larger than kMaxObjectDataBytes); messages read `configmap "x" not found`.
  virtual Result<api::ConfigMap> GetConfigMap(const std::string& ns,
                                              const std::string& name) const = 0;
  virtual Result<api::Secret> GetSecret(const std::string& ns, const std::string& name) const = 0;
  // A projected serviceAccountToken for `pod` (TokenRequest bound to the pod), refreshed as upstream's
  // token manager does. ErrorCode::kUnavailable when there is no apiserver to issue one (standalone
  // nodes: the volume source is skipped with a note).
  virtual Result<std::string> GetServiceAccountToken(const api::Pod& pod,
                                                     const api::ServiceAccountTokenProjection& p) const {
    (void)pod;
    (void)p;
    return Error("no apiserver to issue a token", ErrorCode::kUnavailable);
  }
};

// Objects given as a whole set (an object without a namespace is in "default"). Set replaces the
// set atomically: a reader sees the old set or the new one.
class StaticObjectProvider : public ObjectProvider {
 public:
  void Set(std::vector<api::ConfigMap> config_maps, std::vector<api::Secret> secrets);
  Result<api::ConfigMap> GetConfigMap(const std::string& ns,
                                      const std::string& name) const override;
  Result<api::Secret> GetSecret(const std::string& ns, const std::string& name) const override;

 private:
  struct Snapshot {
    std::vector<api::ConfigMap> config_maps;
    std::vector<api::Secret> secrets;
  };
  mutable std::mutex mu_;
  std::shared_ptr<const Snapshot> snap_;  // guarded by mu_ (the snapshot itself is immutable)
};

// Bytes of data (and binaryData) of an object, as upstream counts them against the 1 MiB limit.
size_t DataBytes(const api::ConfigMap& cm);
size_t DataBytes(const api::Secret& s);

}  // namespace nanolet::volume
