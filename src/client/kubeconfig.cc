#include "client/kubeconfig.h"

#include <yaml-cpp/yaml.h>

#include "api/base64.h"
#include "util/fs.h"

namespace nanolet::client {
namespace kubeconfig_detail {

std::string Str(const YAML::Node& n, const char* key) {
  if (!n || !n.IsMap()) return "";
  YAML::Node v = n[key];
  if (!v || !v.IsScalar()) return "";
  return v.as<std::string>();
}

// The `inner` map of the named entry in a list like clusters: [{name: x, cluster: {...}}].
Result<YAML::Node> FindNamed(const YAML::Node& root, const char* list, const char* inner,
                             const std::string& name) {
  YAML::Node items = root[list];
  if (items && items.IsSequence()) {
    for (const auto& it : items) {
      if (Str(it, "name") == name) {
        YAML::Node v = it[inner];
        if (!v || !v.IsMap()) return Invalid(std::string(inner) + " \"" + name + "\" is empty");
        return v;
      }
    }
  }
  return NotFound(std::string(inner) + " \"" + name + "\" not found");
}

std::string Resolve(const std::string& base_dir, const std::string& p) {
  if (p.empty() || p[0] == '/' || base_dir.empty()) return p;
  return JoinPath(base_dir, p);
}

Result<std::string> DecodeData(const std::string& field, const std::string& b64) {
  auto d = api::internal::Base64Decode(b64);
  if (!d) return Invalid(field + ": illegal base64 data");
  return *d;
}

}  // namespace kubeconfig_detail

Result<RestConfig> ParseKubeconfig(std::string_view yaml, const std::string& base_dir,
                                   const std::string& context) {
  using namespace kubeconfig_detail;
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return Invalid(std::string("kubeconfig: ") + e.what());
  }
  if (!root || !root.IsMap()) return Invalid("kubeconfig: not a mapping");
  std::string ctx_name = context.empty() ? Str(root, "current-context") : context;
  if (ctx_name.empty()) return Invalid("kubeconfig: no current-context");
  auto ctx = FindNamed(root, "contexts", "context", ctx_name);
  if (!ctx.ok()) return std::move(ctx).error().Wrap("kubeconfig");
  std::string cluster_name = Str(*ctx, "cluster"), user_name = Str(*ctx, "user");
  auto cluster = FindNamed(root, "clusters", "cluster", cluster_name);
  if (!cluster.ok())
    return std::move(cluster).error().Wrap("kubeconfig: context \"" + ctx_name + "\"");

  RestConfig c;
  c.server = Str(*cluster, "server");
  while (!c.server.empty() && c.server.back() == '/') c.server.pop_back();
  if (c.server.empty()) return Invalid("kubeconfig: cluster \"" + cluster_name + "\": no server");
  if (c.server.rfind("https://", 0) != 0 && c.server.rfind("http://", 0) != 0) {
    return Invalid("kubeconfig: cluster \"" + cluster_name + "\": server " + c.server +
                   ": not an http(s) URL");
  }
  c.insecure_skip_tls_verify = Str(*cluster, "insecure-skip-tls-verify") == "true";
  c.ca_file = Resolve(base_dir, Str(*cluster, "certificate-authority"));
  if (auto d = Str(*cluster, "certificate-authority-data"); !d.empty()) {
    auto r = DecodeData("certificate-authority-data", d);
    if (!r.ok()) return std::move(r).error().Wrap("kubeconfig: cluster \"" + cluster_name + "\"");
    c.ca_data = *r;
  }
  if (!user_name.empty()) {
    auto user = FindNamed(root, "users", "user", user_name);
    if (!user.ok()) return std::move(user).error().Wrap("kubeconfig: context \"" + ctx_name + "\"");
    c.cert_file = Resolve(base_dir, Str(*user, "client-certificate"));
    c.key_file = Resolve(base_dir, Str(*user, "client-key"));
    c.token = Str(*user, "token");
    c.token_file = Resolve(base_dir, Str(*user, "tokenFile"));
    for (auto [field, out] : {std::pair{"client-certificate-data", &c.cert_data},
                              std::pair{"client-key-data", &c.key_data}}) {
      if (auto d = Str(*user, field); !d.empty()) {
        auto r = DecodeData(field, d);
        if (!r.ok()) return std::move(r).error().Wrap("kubeconfig: user \"" + user_name + "\"");
        *out = *r;
      }
    }
    bool has_cert = !c.cert_data.empty() || !c.cert_file.empty();
    bool has_key = !c.key_data.empty() || !c.key_file.empty();
    if (has_cert != has_key) {
      return Invalid("kubeconfig: user \"" + user_name +
                     "\": client certificate and key must be given together");
    }
  }
  return c;
}

Result<RestConfig> LoadKubeconfig(const std::string& path, const std::string& context) {
  auto data = ReadFile(path, 4 << 20);
  if (!data.ok()) return std::move(data).error().Wrap("kubeconfig " + path);
  std::string dir;
  if (auto slash = path.rfind('/'); slash != std::string::npos) dir = path.substr(0, slash);
  auto r = ParseKubeconfig(*data, dir.empty() ? "." : dir, context);
  if (!r.ok()) return std::move(r).error().Wrap(path);
  return r;
}

}  // namespace nanolet::client
