#include "runtime/volume/object_provider.h"

namespace nanolet::volume {
namespace object_provider_detail {

const std::string& NamespaceOf(const api::ObjectMeta& m) {
  static const std::string kDefault = "default";
  return m.namespace_.empty() ? kDefault : m.namespace_;
}

template <typename T>
Result<T> Find(const std::vector<T>& objs, const std::string& ns, const std::string& name,
               const char* kind) {
  // Several manifests may define the same object: the last one (by file name order) wins.
  const T* found = nullptr;
  for (const auto& o : objs) {
    if (o.metadata.name == name && NamespaceOf(o.metadata) == ns) found = &o;
  }
  if (!found) return NotFound(std::string(kind) + " \"" + name + "\" not found");
  size_t bytes = DataBytes(*found);
  if (bytes > kMaxObjectDataBytes) {
    return Invalid(std::string(kind) + " \"" + name + "\" is too large: " + std::to_string(bytes) +
                   " bytes of data, at most 1048576");
  }
  return *found;
}

}  // namespace object_provider_detail

size_t DataBytes(const api::ConfigMap& cm) {
  size_t n = 0;
  for (const auto& [k, v] : cm.data) n += k.size() + v.size();
  for (const auto& [k, v] : cm.binary_data) n += k.size() + v.size();
  return n;
}

size_t DataBytes(const api::Secret& s) {
  size_t n = 0;
  for (const auto& [k, v] : s.data) n += k.size() + v.size();
  return n;
}

void StaticObjectProvider::Set(std::vector<api::ConfigMap> config_maps,
                               std::vector<api::Secret> secrets) {
  auto snap = std::make_shared<Snapshot>();
  snap->config_maps = std::move(config_maps);
  snap->secrets = std::move(secrets);
  std::lock_guard<std::mutex> l(mu_);
  snap_ = std::move(snap);
}

Result<api::ConfigMap> StaticObjectProvider::GetConfigMap(const std::string& ns,
                                                          const std::string& name) const {
  std::shared_ptr<const Snapshot> snap;
  {
    std::lock_guard<std::mutex> l(mu_);
    snap = snap_;
  }
  if (!snap) return NotFound("configmap \"" + name + "\" not found");
  return object_provider_detail::Find(snap->config_maps, ns, name, "configmap");
}

Result<api::Secret> StaticObjectProvider::GetSecret(const std::string& ns,
                                                    const std::string& name) const {
  std::shared_ptr<const Snapshot> snap;
  {
    std::lock_guard<std::mutex> l(mu_);
    snap = snap_;
  }
  if (!snap) return NotFound("secret \"" + name + "\" not found");
  return object_provider_detail::Find(snap->secrets, ns, name, "secret");
}

}  // namespace nanolet::volume
