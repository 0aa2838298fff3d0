#include "api/validation.h"

#include "util/strings.h"

#include <cctype>
#include <set>

namespace nanolet::api {
namespace {

// ---- field errors, worded as k8s.io/apimachinery/pkg/util/validation/field ----


class Errors {
 public:
  void Add(std::string field, std::string message) {
    Diagnostic d;
    d.field = std::move(field);
    d.message = std::move(message);
    list_.push_back(std::move(d));
  }
  void Required(const std::string& f, std::string_view detail = "") {
    Add(f, detail.empty() ? "Required value" : "Required value: " + std::string(detail));
  }
  void Invalid(const std::string& f, std::string_view value, std::string_view detail) {
    Add(f, "Invalid value: " + Quote(value) + ": " + std::string(detail));
  }
  void Invalid(const std::string& f, int64_t value, std::string_view detail) {
    Add(f, "Invalid value: " + std::to_string(value) + ": " + std::string(detail));
  }
  void NotSupported(const std::string& f, std::string_view value,
                    std::initializer_list<std::string_view> supported) {
    std::string s = "Unsupported value: " + Quote(value) + ": supported values: ";
    bool first = true;
    for (auto v : supported) {
      if (!first) s += ", ";
      s += Quote(v);
      first = false;
    }
    Add(f, s);
  }
  void Duplicate(const std::string& f, std::string_view value) {
    Add(f, "Duplicate value: " + Quote(value));
  }
  void NotFound(const std::string& f, std::string_view value) {
    Add(f, "Not found: " + Quote(value));
  }
  void Forbidden(const std::string& f, std::string_view detail) {
    Add(f, "Forbidden: " + std::string(detail));
  }
  std::vector<Diagnostic>& list() { return list_; }

 private:
  std::vector<Diagnostic> list_;
};

std::string Child(const std::string& parent, std::string_view name) {
  return parent.empty() ? std::string(name) : parent + "." + std::string(name);
}
std::string Index(const std::string& parent, size_t i) {
  return parent + "[" + std::to_string(i) + "]";
}
std::string Key(const std::string& parent, std::string_view key) {
  return parent + "[" + std::string(key) + "]";
}

// ---- name formats, as k8s.io/apimachinery/pkg/util/validation ----

bool IsAlnumLower(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool IsAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

std::string RegexError(std::string msg, std::string_view fmt,
                       std::initializer_list<std::string_view> examples) {
  msg += " (e.g. ";
  bool first = true;
  for (auto e : examples) {
    if (!first) msg += " or ";
    msg += "'" + std::string(e) + "', ";
    first = false;
  }
  msg += "regex used for validation is '" + std::string(fmt) + "')";
  return msg;
}

bool MatchesLabel(std::string_view s) {
  if (s.empty() || !IsAlnumLower(s.front()) || !IsAlnumLower(s.back())) return false;
  for (char c : s) {
    if (!IsAlnumLower(c) && c != '-') return false;
  }
  return true;
}

constexpr std::string_view kLabelFmt = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
constexpr std::string_view kSubdomainFmt =
    "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";

std::vector<std::string> IsDNS1123Label(std::string_view s) {
  std::vector<std::string> errs;
  if (s.size() > 63) errs.push_back("must be no more than 63 characters");
  if (!MatchesLabel(s)) {
    errs.push_back(RegexError(
        "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
        "and must start and end with an alphanumeric character",
        kLabelFmt, {"my-name", "123-abc"}));
  }
  return errs;
}

std::vector<std::string> IsDNS1123Subdomain(std::string_view s) {
  std::vector<std::string> errs;
  if (s.size() > 253) errs.push_back("must be no more than 253 characters");
  bool ok = !s.empty();
  size_t start = 0;
  while (ok && start <= s.size()) {
    size_t dot = s.find('.', start);
    std::string_view part = s.substr(start, dot == std::string_view::npos ? s.npos : dot - start);
    if (!MatchesLabel(part)) ok = false;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  if (!ok) {
    errs.push_back(RegexError(
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' "
        "or '.', and must start and end with an alphanumeric character",
        kSubdomainFmt, {"example.com"}));
  }
  return errs;
}

// ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]
bool MatchesQualifiedPart(std::string_view s) {
  if (s.empty() || !IsAlnum(s.front()) || !IsAlnum(s.back())) return false;
  for (char c : s) {
    if (!IsAlnum(c) && c != '-' && c != '_' && c != '.') return false;
  }
  return true;
}

std::vector<std::string> IsQualifiedName(std::string_view value) {
  std::vector<std::string> errs;
  std::string_view name = value;
  size_t slash = value.find('/');
  if (slash != std::string_view::npos) {
    std::string_view prefix = value.substr(0, slash);
    name = value.substr(slash + 1);
    if (name.find('/') != std::string_view::npos) {
      errs.push_back(
          RegexError(
              "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must "
              "start and end with an alphanumeric character",
              "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]", {"MyName", "my.name", "123-abc"}) +
          " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')");
      return errs;
    }
    if (prefix.empty()) {
      errs.push_back("prefix part must be non-empty");
    } else {
      for (auto& e : IsDNS1123Subdomain(prefix)) errs.push_back("prefix part " + e);
    }
  }
  if (name.empty()) {
    errs.push_back("name part must be non-empty");
  } else if (name.size() > 63) {
    errs.push_back("name part must be no more than 63 characters");
  }
  if (!name.empty() && !MatchesQualifiedPart(name)) {
    errs.push_back("name part " +
                   RegexError("must consist of alphanumeric characters, '-', '_' or '.', and must "
                              "start and end with an alphanumeric character",
                              "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]",
                              {"MyName", "my.name", "123-abc"}));
  }
  return errs;
}

std::vector<std::string> IsLabelValue(std::string_view v) {
  std::vector<std::string> errs;
  if (v.size() > 63) errs.push_back("must be no more than 63 characters");
  if (!v.empty() && !MatchesQualifiedPart(v)) {
    errs.push_back(RegexError(
        "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' "
        "or '.', and must start and end with an alphanumeric character",
        "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?", {"MyValue", "my_value", "12345"}));
  }
  return errs;
}

// IANA service names, as IsValidPortName.
std::vector<std::string> IsValidPortName(std::string_view s) {
  std::vector<std::string> errs;
  if (s.size() > 15) errs.push_back("must be no more than 15 characters");
  bool letters = false, bad = false;
  for (char c : s) {
    if (c >= 'a' && c <= 'z')
      letters = true;
    else if (!(c >= '0' && c <= '9') && c != '-')
      bad = true;
  }
  if (bad) errs.push_back("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)");
  if (s.find("--") != std::string_view::npos)
    errs.push_back("must not contain consecutive hyphens");
  if (!letters) errs.push_back("must contain at least one letter (a-z)");
  if (!s.empty() && (s.front() == '-' || s.back() == '-')) {
    errs.push_back("must not begin or end with a hyphen");
  }
  return errs;
}

const char* kPortRange = "must be between 1 and 65535, inclusive";
const char* kNegative = "must be greater than or equal to 0";
const char* kFileMode = "must be a number between 0 and 0777 (octal), both inclusive";

void CheckName(Errors& e, const std::string& f, std::string_view name,
               std::vector<std::string> (*fn)(std::string_view)) {
  for (auto& msg : fn(name)) e.Invalid(f, name, msg);
}

// ---- metadata ----

void ValidateMeta(Errors& e, const ObjectMeta& m, const std::string& f, bool namespaced,
                  std::vector<std::string> (*name_fn)(std::string_view)) {
  if (m.name.empty() && m.generate_name.empty()) {
    e.Required(Child(f, "name"), "name or generateName is required");
  } else if (!m.name.empty()) {
    CheckName(e, Child(f, "name"), m.name, name_fn);
  }
  if (namespaced && !m.namespace_.empty()) {
    CheckName(e, Child(f, "namespace"), m.namespace_, IsDNS1123Label);
  }
  for (const auto& [k, v] : m.labels) {
    for (auto& msg : IsQualifiedName(k)) e.Invalid(Child(f, "labels"), k, msg);
    for (auto& msg : IsLabelValue(v)) e.Invalid(Child(f, "labels"), v, msg);
  }
  for (const auto& [k, v] : m.annotations) {
    std::string lower;
    for (char c : k) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (auto& msg : IsQualifiedName(lower)) e.Invalid(Child(f, "annotations"), k, msg);
  }
  if (m.deletion_grace_period_seconds && *m.deletion_grace_period_seconds < 0) {
    e.Invalid(Child(f, "deletionGracePeriodSeconds"), *m.deletion_grace_period_seconds, kNegative);
  }
}

// ---- paths ----

bool HasBackstep(std::string_view p) {
  size_t start = 0;
  while (start <= p.size()) {
    size_t slash = p.find('/', start);
    std::string_view part =
        p.substr(start, slash == std::string_view::npos ? p.npos : slash - start);
    if (part == "..") return true;
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return false;
}

void LocalDescendingPath(Errors& e, const std::string& f, std::string_view p) {
  if (!p.empty() && p[0] == '/') e.Invalid(f, p, "must be a relative path");
  if (HasBackstep(p)) e.Invalid(f, p, "must not contain '..'");
}

void LocalNonReservedPath(Errors& e, const std::string& f, std::string_view p) {
  LocalDescendingPath(e, f, p);
  if (p.starts_with("..") && !p.starts_with("../")) e.Invalid(f, p, "must not start with '..'");
}

void ValidateMode(Errors& e, const std::string& f, const std::optional<int32_t>& mode) {
  if (mode && (*mode < 0 || *mode > 0777)) e.Invalid(f, *mode, kFileMode);
}

void ValidateItems(Errors& e, const std::vector<KeyToPath>& items, const std::string& f) {
  for (size_t i = 0; i < items.size(); ++i) {
    std::string fi = Index(f, i);
    if (items[i].key.empty()) e.Required(Child(fi, "key"));
    if (items[i].path.empty()) {
      e.Required(Child(fi, "path"));
    } else {
      LocalNonReservedPath(e, Child(fi, "path"), items[i].path);
    }
    ValidateMode(e, Child(fi, "mode"), items[i].mode);
  }
}

void ValidateDownwardAPIItems(Errors& e, const std::vector<DownwardAPIVolumeFile>& items,
                              const std::string& f) {
  for (size_t i = 0; i < items.size(); ++i) {
    std::string fi = Index(f, i);
    const auto& item = items[i];
    if (item.path.empty()) {
      e.Required(Child(fi, "path"));
    } else {
      LocalNonReservedPath(e, Child(fi, "path"), item.path);
    }
    ValidateMode(e, Child(fi, "mode"), item.mode);
    if (item.field_ref && item.resource_field_ref) {
      e.Invalid(fi, "resource",
                "fieldRef and resourceFieldRef can not be specified simultaneously");
    } else if (!item.field_ref && !item.resource_field_ref) {
      e.Required(fi, "one of fieldRef and resourceFieldRef is required");
    } else if (item.field_ref && item.field_ref->field_path.empty()) {
      e.Required(Child(Child(fi, "fieldRef"), "fieldPath"));
    } else if (item.resource_field_ref && item.resource_field_ref->resource.empty()) {
      e.Required(Child(Child(fi, "resourceFieldRef"), "resource"));
    }
  }
}

// ---- volumes ----

std::set<std::string> ValidateVolumes(Errors& e, const std::vector<Volume>& volumes,
                                      const std::string& f) {
  std::set<std::string> names;
  for (size_t i = 0; i < volumes.size(); ++i) {
    const Volume& v = volumes[i];
    std::string fi = Index(f, i);
    if (v.name.empty()) {
      e.Required(Child(fi, "name"));
    } else {
      CheckName(e, Child(fi, "name"), v.name, IsDNS1123Label);
      if (!names.insert(v.name).second) e.Duplicate(Child(fi, "name"), v.name);
    }
    int sources = 0;
    auto source = [&](bool set, std::string_view name) {
      if (!set) return false;
      if (++sources > 1) {
        e.Forbidden(Child(fi, name), "may not specify more than 1 volume type");
        return false;
      }
      return true;
    };
    if (source(v.empty_dir.has_value(), "emptyDir")) {
      if (v.empty_dir->medium != "" && v.empty_dir->medium != "Memory" &&
          !v.empty_dir->medium.starts_with("HugePages")) {
        e.NotSupported(Child(Child(fi, "emptyDir"), "medium"), v.empty_dir->medium,
                       {"", "Memory", "HugePages"});
      }
      if (v.empty_dir->size_limit && v.empty_dir->size_limit->Sign() < 0) {
        e.Invalid(Child(Child(fi, "emptyDir"), "sizeLimit"), v.empty_dir->size_limit->String(),
                  kNegative);
      }
    }
    if (source(v.host_path.has_value(), "hostPath")) {
      std::string fh = Child(fi, "hostPath");
      if (v.host_path->path.empty()) e.Required(Child(fh, "path"));
      if (HasBackstep(v.host_path->path)) {
        e.Invalid(Child(fh, "path"), v.host_path->path, "must not contain '..'");
      }
      if (v.host_path->type) {
        const std::string& t = *v.host_path->type;
        static const std::set<std::string> kTypes = {
            "",       "DirectoryOrCreate", "Directory",  "FileOrCreate", "File",
            "Socket", "CharDevice",        "BlockDevice"};
        if (!kTypes.count(t)) {
          e.NotSupported(Child(fh, "type"), t,
                         {"", "BlockDevice", "CharDevice", "Directory", "DirectoryOrCreate", "File",
                          "FileOrCreate", "Socket"});
        }
      }
    }
    if (source(v.config_map.has_value(), "configMap")) {
      std::string fc = Child(fi, "configMap");
      if (v.config_map->name.empty()) e.Required(Child(fc, "name"));
      ValidateMode(e, Child(fc, "defaultMode"), v.config_map->default_mode);
      ValidateItems(e, v.config_map->items, Child(fc, "items"));
    }
    if (source(v.secret.has_value(), "secret")) {
      std::string fs = Child(fi, "secret");
      if (v.secret->secret_name.empty()) e.Required(Child(fs, "secretName"));
      ValidateMode(e, Child(fs, "defaultMode"), v.secret->default_mode);
      ValidateItems(e, v.secret->items, Child(fs, "items"));
    }
    if (source(v.downward_api.has_value(), "downwardAPI")) {
      std::string fd = Child(fi, "downwardAPI");
      ValidateMode(e, Child(fd, "defaultMode"), v.downward_api->default_mode);
      ValidateDownwardAPIItems(e, v.downward_api->items, Child(fd, "items"));
    }
    if (source(v.projected.has_value(), "projected")) {
      std::string fp = Child(fi, "projected");
      ValidateMode(e, Child(fp, "defaultMode"), v.projected->default_mode);
      for (size_t s = 0; s < v.projected->sources.size(); ++s) {
        const auto& src = v.projected->sources[s];
        std::string fs = Index(Child(fp, "sources"), s);
        if (src.config_map) {
          if (src.config_map->name.empty()) e.Required(Child(Child(fs, "configMap"), "name"));
          ValidateItems(e, src.config_map->items, Child(Child(fs, "configMap"), "items"));
        }
        if (src.secret) {
          if (src.secret->secret_name.empty()) e.Required(Child(Child(fs, "secret"), "name"));
          ValidateItems(e, src.secret->items, Child(Child(fs, "secret"), "items"));
        }
        if (src.downward_api) {
          ValidateDownwardAPIItems(e, src.downward_api->items,
                                   Child(Child(fs, "downwardAPI"), "items"));
        }
        if (src.service_account_token) {
          std::string ft = Child(fs, "serviceAccountToken");
          if (src.service_account_token->path.empty())
            e.Required(Child(ft, "path"));
          else
            LocalNonReservedPath(e, Child(ft, "path"), src.service_account_token->path);
          const auto& exp = src.service_account_token->expiration_seconds;
          if (exp && *exp < 600) {
            e.Invalid(Child(ft, "expirationSeconds"), *exp,
                      "may not specify a duration less than 10 minutes");
          }
        }
      }
    }
    if (source(v.persistent_volume_claim.has_value(), "persistentVolumeClaim")) {
      if (v.persistent_volume_claim->claim_name.empty()) {
        e.Required(Child(Child(fi, "persistentVolumeClaim"), "claimName"));
      }
    }
    source(!v.other_source.empty(), v.other_source);
    if (sources == 0) e.Required(fi, "must specify a volume type");
  }
  return names;
}

// ---- containers ----

void ValidateHandlerPort(Errors& e, const std::string& f, const IntOrString& port) {
  if (port.is_string) {
    for (auto& msg : IsValidPortName(port.str_val)) e.Invalid(f, port.str_val, msg);
  } else if (port.int_val < 1 || port.int_val > 65535) {
    e.Invalid(f, port.int_val, kPortRange);
  }
}

void ValidateHTTPGet(Errors& e, const std::string& f, const HTTPGetAction& h) {
  ValidateHandlerPort(e, Child(f, "port"), h.port);
  if (!h.scheme.empty() && h.scheme != "HTTP" && h.scheme != "HTTPS") {
    e.NotSupported(Child(f, "scheme"), h.scheme, {"HTTP", "HTTPS"});
  }
  for (size_t i = 0; i < h.http_headers.size(); ++i) {
    if (h.http_headers[i].name.empty())
      e.Required(Child(Index(Child(f, "httpHeaders"), i), "name"));
  }
}

// Exactly one handler, as upstream validateHandler: the error names the second handler found.
void ValidateProbeHandler(Errors& e, const std::string& f, const ProbeHandler& h) {
  int n = 0;
  auto one = [&](bool set, std::string_view name) {
    if (!set) return false;
    if (++n > 1) {
      e.Forbidden(Child(f, name), "may not specify more than 1 handler type");
      return false;
    }
    return true;
  };
  if (one(h.exec.has_value(), "exec") && h.exec->command.empty()) {
    e.Required(Child(Child(f, "exec"), "command"));
  }
  if (one(h.http_get.has_value(), "httpGet")) ValidateHTTPGet(e, Child(f, "httpGet"), *h.http_get);
  if (one(h.tcp_socket.has_value(), "tcpSocket")) {
    ValidateHandlerPort(e, Child(Child(f, "tcpSocket"), "port"), h.tcp_socket->port);
  }
  if (one(h.grpc.has_value(), "grpc") && (h.grpc->port < 1 || h.grpc->port > 65535)) {
    e.Invalid(Child(Child(f, "grpc"), "port"), h.grpc->port, kPortRange);
  }
  if (n == 0) e.Required(f, "must specify a handler type");
}

enum class ProbeKind { kLiveness, kReadiness, kStartup };

void ValidateProbe(Errors& e, const std::string& f, const std::optional<Probe>& p, ProbeKind kind) {
  if (!p) return;
  ValidateProbeHandler(e, f, p->handler);
  auto nonneg = [&](std::string_view name, int64_t v) {
    if (v < 0) e.Invalid(Child(f, name), v, kNegative);
  };
  nonneg("initialDelaySeconds", p->initial_delay_seconds);
  nonneg("timeoutSeconds", p->timeout_seconds);
  nonneg("periodSeconds", p->period_seconds);
  nonneg("successThreshold", p->success_threshold);
  nonneg("failureThreshold", p->failure_threshold);
  if (kind != ProbeKind::kReadiness && p->success_threshold > 1) {
    e.Invalid(Child(f, "successThreshold"), p->success_threshold, "must be 1");
  }
  if (p->termination_grace_period_seconds) {
    if (kind == ProbeKind::kReadiness) {
      e.Invalid(Child(f, "terminationGracePeriodSeconds"), *p->termination_grace_period_seconds,
                "must not be set for readinessProbes");
    } else if (*p->termination_grace_period_seconds <= 0) {
      e.Invalid(Child(f, "terminationGracePeriodSeconds"), *p->termination_grace_period_seconds,
                "must be greater than 0");
    }
  }
}

void ValidateLifecycleHandler(Errors& e, const std::string& f,
                              const std::optional<LifecycleHandler>& h) {
  if (!h) return;
  int n = 0;
  auto one = [&](bool set, std::string_view name) {
    if (!set) return false;
    if (++n > 1) {
      e.Forbidden(Child(f, name), "may not specify more than 1 handler type");
      return false;
    }
    return true;
  };
  if (one(h->exec.has_value(), "exec") && h->exec->command.empty()) {
    e.Required(Child(Child(f, "exec"), "command"));
  }
  if (one(h->http_get.has_value(), "httpGet"))
    ValidateHTTPGet(e, Child(f, "httpGet"), *h->http_get);
  if (one(h->tcp_socket.has_value(), "tcpSocket")) {
    ValidateHandlerPort(e, Child(Child(f, "tcpSocket"), "port"), h->tcp_socket->port);
  }
  if (one(h->sleep.has_value(), "sleep") && h->sleep->seconds < 0) {
    e.Invalid(Child(Child(f, "sleep"), "seconds"), h->sleep->seconds, kNegative);
  }
  if (n == 0) e.Required(f, "must specify a handler type");
}

bool IsEnvVarName(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c > 0x7e || c == '=') return false;
  }
  return true;
}

void ValidateResources(Errors& e, const std::string& f, const ResourceRequirements& r) {
  auto check = [&](const std::map<std::string, Quantity>& m, std::string_view which) {
    for (const auto& [name, q] : m) {
      std::string fk = Key(Child(f, which), name);
      for (auto& msg : IsQualifiedName(name)) e.Invalid(fk, name, msg);
      if (q.Sign() < 0) e.Invalid(fk, q.String(), kNegative);
    }
  };
  check(r.limits, "limits");
  check(r.requests, "requests");
  for (const auto& [name, req] : r.requests) {
    auto lim = r.limits.find(name);
    if (lim != r.limits.end() && req.Cmp(lim->second) > 0) {
      e.Invalid(Key(Child(f, "requests"), name), req.String(),
                "must be less than or equal to " + name + " limit of " + lim->second.String());
    }
  }
}

void ValidateContainer(Errors& e, const Container& c, const std::string& f,
                       const std::set<std::string>& volumes, bool init, bool host_network) {
  if (c.image.empty()) {
    e.Required(Child(f, "image"));
  } else if (std::isspace(static_cast<unsigned char>(c.image.front())) ||
             std::isspace(static_cast<unsigned char>(c.image.back()))) {
    e.Invalid(Child(f, "image"), c.image, "must not have leading or trailing whitespace");
  }
  std::set<std::string> port_names;
  for (size_t i = 0; i < c.ports.size(); ++i) {
    const auto& p = c.ports[i];
    std::string fp = Index(Child(f, "ports"), i);
    if (!p.name.empty()) {
      for (auto& msg : IsValidPortName(p.name)) e.Invalid(Child(fp, "name"), p.name, msg);
      if (!port_names.insert(p.name).second) e.Duplicate(Child(fp, "name"), p.name);
    }
    if (p.container_port < 1 || p.container_port > 65535) {
      e.Invalid(Child(fp, "containerPort"), p.container_port, kPortRange);
    }
    if (p.host_port != 0 && (p.host_port < 1 || p.host_port > 65535)) {
      e.Invalid(Child(fp, "hostPort"), p.host_port, kPortRange);
    }
    if (host_network && p.host_port != 0 && p.host_port != p.container_port) {
      e.Invalid(Child(fp, "hostPort"), p.host_port,
                "must match `containerPort` when `hostNetwork` is true");
    }
    if (!p.protocol.empty() && p.protocol != "TCP" && p.protocol != "UDP" && p.protocol != "SCTP") {
      e.NotSupported(Child(fp, "protocol"), p.protocol, {"SCTP", "TCP", "UDP"});
    }
  }
  for (size_t i = 0; i < c.env.size(); ++i) {
    const auto& ev = c.env[i];
    std::string fe = Index(Child(f, "env"), i);
    if (ev.name.empty()) {
      e.Required(Child(fe, "name"));
    } else if (!IsEnvVarName(ev.name)) {
      e.Invalid(Child(fe, "name"), ev.name,
                "a valid environment variable name must consist only of printable ASCII "
                "characters other than '='");
    }
    if (ev.value_from) {
      std::string fv = Child(fe, "valueFrom");
      const auto& s = *ev.value_from;
      int n = (s.field_ref ? 1 : 0) + (s.resource_field_ref ? 1 : 0) +
              (s.config_map_key_ref ? 1 : 0) + (s.secret_key_ref ? 1 : 0);
      if (n == 0) {
        e.Invalid(fv, "",
                  "must specify one of: `fieldRef`, `resourceFieldRef`, "
                  "`configMapKeyRef` or `secretKeyRef`");
      } else if (n > 1) {
        e.Invalid(fv, "", "may not have more than one field specified at a time");
      }
      if (!ev.value.empty()) e.Invalid(fv, "", "may not be specified when `value` is not empty");
      if (s.field_ref && s.field_ref->field_path.empty()) {
        e.Required(Child(Child(fv, "fieldRef"), "fieldPath"));
      }
      if (s.config_map_key_ref) {
        if (s.config_map_key_ref->key.empty())
          e.Required(Child(Child(fv, "configMapKeyRef"), "key"));
        if (s.config_map_key_ref->name.empty()) {
          e.Required(Child(Child(fv, "configMapKeyRef"), "name"));
        }
      }
      if (s.secret_key_ref) {
        if (s.secret_key_ref->key.empty()) e.Required(Child(Child(fv, "secretKeyRef"), "key"));
        if (s.secret_key_ref->name.empty()) e.Required(Child(Child(fv, "secretKeyRef"), "name"));
      }
    }
  }
  ValidateResources(e, Child(f, "resources"), c.resources);
  std::set<std::string> mount_paths;
  for (size_t i = 0; i < c.volume_mounts.size(); ++i) {
    const auto& m = c.volume_mounts[i];
    std::string fm = Index(Child(f, "volumeMounts"), i);
    if (m.name.empty()) {
      e.Required(Child(fm, "name"));
    } else if (!volumes.count(m.name)) {
      e.NotFound(Child(fm, "name"), m.name);
    }
    if (m.mount_path.empty()) {
      e.Required(Child(fm, "mountPath"));
    } else {
      // nanolet asks for absolute mount paths without backsteps (the rule; upstream leaves
      // them to the runtime).
      if (m.mount_path[0] != '/')
        e.Invalid(Child(fm, "mountPath"), m.mount_path, "must be an absolute path");
      if (HasBackstep(m.mount_path)) {
        e.Invalid(Child(fm, "mountPath"), m.mount_path, "must not contain '..'");
      }
      if (!mount_paths.insert(m.mount_path).second) {
        e.Invalid(Child(fm, "mountPath"), m.mount_path, "must be unique");
      }
    }
    if (!m.sub_path.empty()) LocalDescendingPath(e, Child(fm, "subPath"), m.sub_path);
    if (!m.sub_path.empty() && !m.sub_path_expr.empty()) {
      e.Invalid(Child(fm, "subPathExpr"), m.sub_path_expr,
                "subPathExpr and subPath are mutually exclusive");
    }
    if (m.mount_propagation && *m.mount_propagation != "None" &&
        *m.mount_propagation != "HostToContainer" && *m.mount_propagation != "Bidirectional") {
      e.NotSupported(Child(fm, "mountPropagation"), *m.mount_propagation,
                     {"Bidirectional", "HostToContainer", "None"});
    }
  }
  bool sidecar = init && c.restart_policy && *c.restart_policy == "Always";
  if (init && !sidecar) {
    if (c.restart_policy) e.NotSupported(Child(f, "restartPolicy"), *c.restart_policy, {"Always"});
    const char* msg = "may not be set for init containers without restartPolicy=Always";
    if (c.lifecycle) e.Forbidden(Child(f, "lifecycle"), msg);
    if (c.liveness_probe) e.Forbidden(Child(f, "livenessProbe"), msg);
    if (c.readiness_probe) e.Forbidden(Child(f, "readinessProbe"), msg);
    if (c.startup_probe) e.Forbidden(Child(f, "startupProbe"), msg);
  } else {
    if (!init && c.restart_policy) {
      e.Forbidden(Child(f, "restartPolicy"), "may not be set for non-init containers");
    }
    ValidateProbe(e, Child(f, "livenessProbe"), c.liveness_probe, ProbeKind::kLiveness);
    ValidateProbe(e, Child(f, "readinessProbe"), c.readiness_probe, ProbeKind::kReadiness);
    ValidateProbe(e, Child(f, "startupProbe"), c.startup_probe, ProbeKind::kStartup);
    if (c.lifecycle) {
      ValidateLifecycleHandler(e, Child(Child(f, "lifecycle"), "postStart"),
                               c.lifecycle->post_start);
      ValidateLifecycleHandler(e, Child(Child(f, "lifecycle"), "preStop"), c.lifecycle->pre_stop);
    }
  }
  if (!c.image_pull_policy.empty() && c.image_pull_policy != "Always" &&
      c.image_pull_policy != "IfNotPresent" && c.image_pull_policy != "Never") {
    e.NotSupported(Child(f, "imagePullPolicy"), c.image_pull_policy,
                   {"Always", "IfNotPresent", "Never"});
  }
  if (!c.termination_message_policy.empty() && c.termination_message_policy != "File" &&
      c.termination_message_policy != "FallbackToLogsOnError") {
    e.NotSupported(Child(f, "terminationMessagePolicy"), c.termination_message_policy,
                   {"File", "FallbackToLogsOnError"});
  }
  if (c.security_context && c.security_context->run_as_user &&
      *c.security_context->run_as_user < 0) {
    e.Invalid(Child(Child(f, "securityContext"), "runAsUser"), *c.security_context->run_as_user,
              "must be between 0 and 2147483647, inclusive");
  }
}

// `restart_policy_rule`: how the caller constrains spec.restartPolicy (pods allow all three).
enum class RestartRule { kAny, kAlwaysOnly, kJob };

void ValidateSpec(Errors& e, const PodSpec& spec, const std::string& f, RestartRule rule) {
  std::set<std::string> volumes = ValidateVolumes(e, spec.volumes, Child(f, "volumes"));
  std::set<std::string> names;
  auto check_names = [&](const std::vector<Container>& list, std::string_view which) {
    for (size_t i = 0; i < list.size(); ++i) {
      std::string fn = Child(Index(Child(f, which), i), "name");
      const std::string& name = list[i].name;
      if (name.empty()) {
        e.Required(fn);
      } else {
        CheckName(e, fn, name, IsDNS1123Label);
        if (!names.insert(name).second) e.Duplicate(fn, name);
      }
    }
  };
  check_names(spec.init_containers, "initContainers");
  check_names(spec.containers, "containers");
  for (size_t i = 0; i < spec.init_containers.size(); ++i) {
    ValidateContainer(e, spec.init_containers[i], Index(Child(f, "initContainers"), i), volumes,
                      true, spec.host_network);
  }
  if (spec.containers.empty()) e.Required(Child(f, "containers"));
  for (size_t i = 0; i < spec.containers.size(); ++i) {
    ValidateContainer(e, spec.containers[i], Index(Child(f, "containers"), i), volumes, false,
                      spec.host_network);
  }
  // Host ports must not collide across containers (as checkHostPortConflicts).
  std::set<std::string> host_ports;
  for (size_t i = 0; i < spec.containers.size(); ++i) {
    for (size_t j = 0; j < spec.containers[i].ports.size(); ++j) {
      const auto& p = spec.containers[i].ports[j];
      if (p.host_port == 0) continue;
      std::string proto = p.protocol.empty() ? "TCP" : p.protocol;
      std::string key =
          (p.host_ip.empty() ? "" : p.host_ip + "/") + std::to_string(p.host_port) + "/" + proto;
      if (!host_ports.insert(key).second) {
        e.Duplicate(Child(Index(Child(Index(Child(f, "containers"), i), "ports"), j), "hostPort"),
                    key);
      }
    }
  }

  const std::string frp = Child(f, "restartPolicy");
  switch (rule) {
    case RestartRule::kAny:
      if (!spec.restart_policy.empty() && spec.restart_policy != "Always" &&
          spec.restart_policy != "OnFailure" && spec.restart_policy != "Never") {
        e.NotSupported(frp, spec.restart_policy, {"Always", "OnFailure", "Never"});
      }
      break;
    case RestartRule::kAlwaysOnly:
      if (!spec.restart_policy.empty() && spec.restart_policy != "Always") {
        e.NotSupported(frp, spec.restart_policy, {"Always"});
      }
      break;
    case RestartRule::kJob:
      if (spec.restart_policy.empty()) {
        e.Required(frp, "valid values: \"OnFailure\", \"Never\"");
      } else if (spec.restart_policy != "OnFailure" && spec.restart_policy != "Never") {
        e.NotSupported(frp, spec.restart_policy, {"OnFailure", "Never"});
      }
      break;
  }
  if (!spec.dns_policy.empty() && spec.dns_policy != "ClusterFirstWithHostNet" &&
      spec.dns_policy != "ClusterFirst" && spec.dns_policy != "Default" &&
      spec.dns_policy != "None") {
    e.NotSupported(Child(f, "dnsPolicy"), spec.dns_policy,
                   {"ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"});
  }
  if (spec.dns_policy == "None" && (!spec.dns_config || spec.dns_config->nameservers.empty())) {
    e.Required(Child(f, "dnsConfig"), "must provide `dnsConfig` when `dnsPolicy` is None");
  }
  if (spec.termination_grace_period_seconds && *spec.termination_grace_period_seconds < 0) {
    e.Invalid(Child(f, "terminationGracePeriodSeconds"), *spec.termination_grace_period_seconds,
              kNegative);
  }
  if (spec.active_deadline_seconds &&
      (*spec.active_deadline_seconds < 1 || *spec.active_deadline_seconds > 2147483647)) {
    e.Invalid(Child(f, "activeDeadlineSeconds"), *spec.active_deadline_seconds,
              "must be between 1 and 2147483647, inclusive");
  }
  if (!spec.hostname.empty()) CheckName(e, Child(f, "hostname"), spec.hostname, IsDNS1123Label);
  if (!spec.subdomain.empty()) CheckName(e, Child(f, "subdomain"), spec.subdomain, IsDNS1123Label);
  if (!spec.service_account_name.empty()) {
    CheckName(e, Child(f, "serviceAccountName"), spec.service_account_name, IsDNS1123Subdomain);
  }
  if (spec.share_process_namespace && *spec.share_process_namespace && spec.host_pid) {
    e.Invalid(Child(f, "shareProcessNamespace"), "true",
              "ShareProcessNamespace and HostPID cannot both be enabled");
  }
  for (size_t i = 0; i < spec.image_pull_secrets.size(); ++i) {
    if (spec.image_pull_secrets[i].name.empty()) {
      e.Required(Child(Index(Child(f, "imagePullSecrets"), i), "name"));
    }
  }
  if (spec.security_context) {
    const auto& sc = *spec.security_context;
    if (sc.run_as_user && *sc.run_as_user < 0) {
      e.Invalid(Child(Child(f, "securityContext"), "runAsUser"), *sc.run_as_user,
                "must be between 0 and 2147483647, inclusive");
    }
  }
}

void ValidateData(Errors& e, const std::map<std::string, std::string>& data, const std::string& f,
                  size_t& total) {
  for (const auto& [k, v] : data) {
    total += v.size();
    bool ok = !k.empty() && k.size() <= 253 && k != "." && k != ".." && !k.starts_with("..");
    for (char c : k) {
      if (!IsAlnum(c) && c != '-' && c != '_' && c != '.') ok = false;
    }
    if (!ok) {
      e.Invalid(Key(f, k), k,
                RegexError("a valid config key must consist of alphanumeric characters, '-', '_' "
                           "or '.'",
                           "[-._a-zA-Z0-9]+", {"key.name", "KEY_NAME", "key-name"}));
    }
  }
}

}  // namespace

std::vector<Diagnostic> ValidatePod(const Pod& pod) {
  Errors e;
  ValidateMeta(e, pod.metadata, "metadata", true, IsDNS1123Subdomain);
  ValidateSpec(e, pod.spec, "spec", RestartRule::kAny);
  return std::move(e.list());
}

std::vector<Diagnostic> ValidateWorkload(const Workload& w) {
  Errors e;
  ValidateMeta(e, w.metadata, "metadata", true, IsDNS1123Subdomain);
  if (w.replicas && *w.replicas < 0) e.Invalid("spec.replicas", *w.replicas, kNegative);
  const std::string ft = "spec.template";
  for (const auto& [k, v] : w.template_.metadata.labels) {
    for (auto& msg : IsQualifiedName(k)) e.Invalid(ft + ".metadata.labels", k, msg);
    for (auto& msg : IsLabelValue(v)) e.Invalid(ft + ".metadata.labels", v, msg);
  }
  RestartRule rule = w.type_meta.kind == "Job" ? RestartRule::kJob : RestartRule::kAlwaysOnly;
  ValidateSpec(e, w.template_.spec, ft + ".spec", rule);
  return std::move(e.list());
}

std::vector<Diagnostic> ValidateConfigMap(const ConfigMap& cm) {
  Errors e;
  ValidateMeta(e, cm.metadata, "metadata", true, IsDNS1123Subdomain);
  size_t total = 0;
  ValidateData(e, cm.data, "data", total);
  ValidateData(e, cm.binary_data, "binaryData", total);
  for (const auto& [k, v] : cm.binary_data) {
    if (cm.data.count(k)) e.Invalid(Key("data", k), k, "duplicate of key present in binaryData");
  }
  if (total > (1u << 20)) {
    e.Add("", "Too long: must have at most 1048576 bytes");
  }
  return std::move(e.list());
}

std::vector<Diagnostic> ValidateSecret(const Secret& s) {
  Errors e;
  ValidateMeta(e, s.metadata, "metadata", true, IsDNS1123Subdomain);
  size_t total = 0;
  ValidateData(e, s.data, "data", total);
  if (total > (1u << 20)) e.Add("data", "Too long: must have at most 1048576 bytes");
  if (s.type == "kubernetes.io/tls") {
    if (!s.data.count("tls.crt")) e.Required("data[tls.crt]");
    if (!s.data.count("tls.key")) e.Required("data[tls.key]");
  } else if (s.type == "kubernetes.io/dockerconfigjson" && !s.data.count(".dockerconfigjson")) {
    e.Required("data[.dockerconfigjson]");
  }
  return std::move(e.list());
}

std::vector<Diagnostic> Validate(const DecodedObject& obj, std::string_view file) {
  std::vector<Diagnostic> out;
  if (const auto* p = std::get_if<Pod>(&obj.object)) {
    out = ValidatePod(*p);
  } else if (const auto* w = std::get_if<Workload>(&obj.object)) {
    out = ValidateWorkload(*w);
  } else if (const auto* cm = std::get_if<ConfigMap>(&obj.object)) {
    out = ValidateConfigMap(*cm);
  } else if (const auto* s = std::get_if<Secret>(&obj.object)) {
    out = ValidateSecret(*s);
  }
  for (auto& d : out) {
    d.file = std::string(file);
    d.line = obj.LineOf(d.field);
  }
  return out;
}

}  // namespace nanolet::api
