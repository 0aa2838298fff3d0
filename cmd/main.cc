// nanolet: parses flags and wires the modules; no logic lives here.
#include <malloc.h>
#include <uv.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "api/check.h"
#include "api/quantity.h"
#include "cmd/client_commands.h"
#include "client/kubeconfig.h"
#include "client/rest_client.h"
#include "config/apiserver_source.h"
#include "config/file_source.h"
#include "config/kubelet_configuration.h"
#include "config/pod_config.h"
#include "config/url_source.h"
#include "kubelet/apiserver_objects.h"
#include "kubelet/event_recorder.h"
#include "kubelet/instrumented_runtime.h"
#include "kubelet/kubelet.h"
#include "kubelet/node_status.h"
#include "kubelet/status_manager.h"
#include "runtime/image/image_store.h"
#include "runtime/oci/oci_runtime.h"
#include "runtime/oci/runtime_bench.h"
#include "runtime/volume/object_provider.h"
#include "server/auth.h"
#include "server/read_only_server.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/netutil.h"
#include "util/strings.h"
#include "util/timefmt.h"

namespace {

using namespace nanolet;

// A CLI11 validator for Go-style durations.
struct DurationFlag {
  std::string text;
  Duration value;
};

struct Flags {
  std::string pod_manifest_path;
  std::string config;
  std::string manifest_url;
  std::vector<std::string> manifest_url_headers;
  std::string kubeconfig;
  std::string hostname_override;
  std::string root_dir = "/var/lib/nanolet";
  std::string pod_logs_dir = "/var/log/pods";
  std::string address = "0.0.0.0";
  int read_only_port = 10255;
  int port = 10250;
  std::string tls_cert_file;
  std::string tls_private_key_file;
  std::string token_auth_file;
  bool authentication_token_webhook = false;
  std::string authentication_token_webhook_cache_ttl = "2m";
  std::string authorization_mode;
  bool anonymous_auth = false;
  std::string file_check_frequency = "20s";
  std::string http_check_frequency = "20s";
  std::string sync_frequency = "1m";
  std::string node_status_update_frequency = "10s";
  int node_lease_duration_seconds = 40;  // KubeletConfiguration nodeLeaseDurationSeconds (no flag, as upstream)
  std::vector<std::string> node_labels;
  bool register_node = true;
  double kube_api_qps = 50;
  int kube_api_burst = 100;
  std::string container_runtime_binary;
  std::vector<std::string> cni_bin_dir = {"/usr/lib/cni"};
  std::string cni_conf_dir = "/etc/cni/net.d";
  int max_pods = 110;
  std::string container_log_max_size = "10Mi";
  int container_log_max_files = 5;
  std::vector<std::string> insecure_registries;
  int verbosity = 0;
};

int Fail(const std::string& msg) {
  std::fprintf(stderr, "nanolet: %s\n", msg.c_str());
  return 1;
}

Result<Duration> Dur(const std::string& flag, const std::string& v) {
  auto d = ParseDuration(v);
  if (!d.ok()) return d.error().Wrap("--" + flag);
  return d;
}

int RunAgent(Flags f, const CLI::App& app) {
  log::SetVerbosity(f.verbosity);
  // --config: a directory is the manifest directory (as old kubelets took it), a file a KubeletConfiguration.
  if (!f.config.empty()) {
    if (IsDirectory(f.config)) {
      if (f.pod_manifest_path.empty()) f.pod_manifest_path = f.config;
    } else {
      auto kc = config::LoadKubeletConfiguration(f.config);
      if (!kc.ok()) return Fail(kc.error().message());
      auto unset = [&](const char* flag) { return app.count(flag) == 0; };
      if (kc->static_pod_path && unset("--pod-manifest-path")) f.pod_manifest_path = *kc->static_pod_path;
      if (kc->static_pod_url && unset("--manifest-url")) f.manifest_url = *kc->static_pod_url;
      for (const auto& [k, v] : kc->static_pod_url_header) f.manifest_url_headers.push_back(k + ":" + v);
      if (kc->sync_frequency && unset("--sync-frequency")) f.sync_frequency = FormatDuration(*kc->sync_frequency);
      if (kc->file_check_frequency && unset("--file-check-frequency"))
        f.file_check_frequency = FormatDuration(*kc->file_check_frequency);
      if (kc->http_check_frequency && unset("--http-check-frequency"))
        f.http_check_frequency = FormatDuration(*kc->http_check_frequency);
      if (kc->address && unset("--address")) f.address = *kc->address;
      if (kc->read_only_port && unset("--read-only-port")) f.read_only_port = *kc->read_only_port;
      if (kc->port && unset("--port")) f.port = *kc->port;
      if (kc->max_pods && unset("--max-pods")) f.max_pods = *kc->max_pods;
      if (kc->node_lease_duration_seconds) f.node_lease_duration_seconds = *kc->node_lease_duration_seconds;
      if (kc->container_log_max_size && unset("--container-log-max-size"))
        f.container_log_max_size = *kc->container_log_max_size;
      if (kc->container_log_max_files && unset("--container-log-max-files"))
        f.container_log_max_files = *kc->container_log_max_files;
      for (const auto& k : kc->ignored_fields) log::V(1, "KubeletConfiguration field ignored", {{"field", k}});
    }
  }
  auto sync = Dur("sync-frequency", f.sync_frequency);
  auto file_check = Dur("file-check-frequency", f.file_check_frequency);
  auto http_check = Dur("http-check-frequency", f.http_check_frequency);
  for (const auto* r : {&sync, &file_check, &http_check}) {
    if (!r->ok()) return Fail(r->error().message());
  }
  auto log_max = api::Quantity::Parse(f.container_log_max_size);
  if (!log_max.ok()) return Fail("--container-log-max-size: " + log_max.error().message());
  auto node_status_freq = Dur("node-status-update-frequency", f.node_status_update_frequency);
  if (!node_status_freq.ok()) return Fail(node_status_freq.error().message());
  // --kubeconfig: join a cluster (the apiserver source, Node and Lease, pod status, mirror pods).
  std::unique_ptr<client::RestClient> api;
  if (!f.kubeconfig.empty()) {
    auto rc = client::LoadKubeconfig(f.kubeconfig);
    if (!rc.ok()) return Fail(rc.error().message());
    rc->qps = f.kube_api_qps;
    rc->burst = f.kube_api_burst;
    rc->user_agent = std::string("nanolet/v") + NANOLET_VERSION;
    auto c = client::RestClient::Create(std::move(*rc));
    if (!c.ok()) return Fail(c.error().message());
    api = std::move(*c);
  }

  std::string node_name = f.hostname_override.empty() ? Hostname() : f.hostname_override;
  for (auto& ch : node_name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  std::vector<std::string> host_ips = HostIPs();

  runtime::oci::OciOptions ro;
  ro.root_dir = f.root_dir;
  ro.runc = f.container_runtime_binary;
  ro.cni_bin_dirs = f.cni_bin_dir;
  ro.cni_conf_dir = f.cni_conf_dir;
  ro.insecure_registries = f.insecure_registries;
  ro.log_max_size = log_max->Value();
  ro.log_max_files = f.container_log_max_files;
  if (const char* b = std::getenv("NANOLET_CNI_BRIDGE")) ro.cni_bridge = b;
  if (const char* s = std::getenv("NANOLET_CNI_SUBNET")) ro.cni_subnet = s;
  if (const char* d = std::getenv("NANOLET_NETNS_DIR")) ro.netns_dir = d;
  if (const char* c = std::getenv("NANOLET_CGROUP_PARENT")) ro.cgroup_parent = c;
  auto rt = runtime::oci::OciRuntime::Create(ro);
  if (!rt.ok()) return Fail(rt.error().message());
  kubelet::InstrumentedRuntime instrumented(**rt);  // kubelet_runtime_operations_*

  kubelet::KubeletOptions ko;
  ko.node_name = node_name;
  ko.root_dir = f.root_dir;
  ko.pod_logs_dir = f.pod_logs_dir;
  ko.host_ips = host_ips;
  ko.sync_frequency = *sync;
  ko.max_pods = f.max_pods;
  // ConfigMaps and Secrets for volumes and env: those of the manifest directory (standalone nodes).
  volume::StaticObjectProvider objects;
  ko.objects = &objects;
  std::unique_ptr<kubelet::ApiserverObjectProvider> api_objects;
  if (api) {
    api_objects = std::make_unique<kubelet::ApiserverObjectProvider>(*api, &objects, RealClock::Instance());
    ko.objects = api_objects.get();
  }
  // Events: posted to the apiserver (aggregated and rate-limited as upstream) with one, else logged.
  // A static pod's events go to its mirror pod, known once the status manager exists.
  std::atomic<kubelet::StatusManager*> mirrors{nullptr};
  std::unique_ptr<api::EventSink> events;
  if (api) {
    events = std::make_unique<kubelet::ApiEventRecorder>(
        *api, node_name, RealClock::Instance(), [&mirrors](const api::Pod& p) {
          kubelet::StatusManager* sm = mirrors.load();
          return sm ? sm->MirrorUID(p) : std::string();
        });
  } else {
    events = std::make_unique<kubelet::LogEventRecorder>(node_name);
  }
  ko.events = events.get();
  events->RecordNode(api::kEventNormal, "Starting", "Starting kubelet.");
  kubelet::Kubelet kl(ko, instrumented, RealClock::Instance());

  config::PodConfig pods([&](const config::PodUpdate& u) { kl.HandlePodUpdate(u); });
  std::unique_ptr<config::FileSource> file_source;
  std::unique_ptr<config::UrlSource> url_source;
  if (!f.pod_manifest_path.empty()) {
    config::FileSource::Options fo;
    fo.path = f.pod_manifest_path;
    fo.node_name = node_name;
    fo.check_interval = *file_check;
    fo.on_objects_changed = [&] {
      objects.Set(file_source->ConfigMaps(), file_source->Secrets());
      kl.ResyncAll();  // volumes of running pods are rewritten in place
    };
    file_source = std::make_unique<config::FileSource>(kl.loop(), fo, pods.Channel(config::kSourceFile));
    if (auto r = file_source->Start(); !r.ok()) return Fail(r.error().message());
  }
  if (!f.manifest_url.empty()) {
    config::UrlSource::Options uo;
    uo.url = f.manifest_url;
    uo.node_name = node_name;
    uo.interval = *http_check;
    for (const auto& h : f.manifest_url_headers) {
      if (auto r = config::ParseManifestUrlHeader(h, uo.headers); !r.ok()) {
        return Fail("--manifest-url-header: " + r.error().message());
      }
    }
    url_source = std::make_unique<config::UrlSource>(kl.loop(), uo, pods.Channel(config::kSourceHttp));
    if (auto r = url_source->Start(); !r.ok()) return Fail(r.error().message());
  }
  std::unique_ptr<kubelet::NodeStatusAgent> node_agent;
  std::unique_ptr<kubelet::StatusManager> status_manager;
  std::unique_ptr<config::ApiserverSource> api_source;
  if (api) {
    kubelet::NodeStatusOptions no;
    no.node_name = node_name;
    for (const auto& l : f.node_labels) {
      for (const auto& kv : Split(l, ',')) {
        auto eq = kv.find('=');
        if (eq == std::string::npos) return Fail("--node-labels: " + kv + ": want key=value");
        no.extra_labels[kv.substr(0, eq)] = kv.substr(eq + 1);
      }
    }
    no.host_ips = host_ips;
    no.kubelet_port = f.port;
    no.max_pods = f.max_pods;
    no.root_dir = f.root_dir;
    no.kubelet_version = std::string("v") + NANOLET_VERSION;
    if (auto v = instrumented.Version(); v.ok()) no.runtime_version = v->runtime_name + "://" + v->runtime_version;
    no.status_update_frequency = *node_status_freq;
    no.lease_duration_seconds = f.node_lease_duration_seconds;
    no.lease_renew_interval = std::chrono::milliseconds(250LL * f.node_lease_duration_seconds);  // a quarter
    no.register_node = f.register_node;
    no.events = events.get();
    node_agent = std::make_unique<kubelet::NodeStatusAgent>(*api, no, RealClock::Instance());
    kubelet::StatusManager::Options sm;
    sm.node_name = node_name;
    sm.node_uid = [&] { return node_agent->NodeUID(); };
    status_manager = std::make_unique<kubelet::StatusManager>(*api, sm);
    mirrors = status_manager.get();
    kl.SetPodHooks({[&](const api::Pod& p, bool terminating) { status_manager->SetPodStatus(p, terminating); },
                    [&](const api::Pod& p) { status_manager->PodRemoved(p); }});
    config::ApiserverSource::Options ao;
    ao.node_name = node_name;
    api_source = std::make_unique<config::ApiserverSource>(
        *api, ao, [&](std::function<void()> fn) { kl.Post(std::move(fn)); }, pods.Channel(config::kSourceApi),
        [&](std::vector<api::Pod> mirrors) { status_manager->SetMirrorPods(std::move(mirrors)); });
    node_agent->Start();
    status_manager->Start();
    api_source->Start();
  }
  kl.SetSourcesReady([&] {
    bool ready = pods.AllSourcesReady();
    if (ready && status_manager) status_manager->MarkSourcesReady();
    return ready;
  });

  std::unique_ptr<server::TokenFileAuthenticator> tokens;
  if (!f.token_auth_file.empty()) {
    auto t = server::TokenFileAuthenticator::Load(f.token_auth_file);
    if (!t.ok()) return Fail("--token-auth-file: " + t.error().message());
    tokens = std::move(*t);
  }
  // --authentication-token-webhook / --authorization-mode Webhook: TokenReview and
  // SubjectAccessReview against the apiserver of --kubeconfig, beside --token-auth-file.
  server::ApiPostFn api_post;
  if (api) {
    api_post = [&api](const std::string& path, const nlohmann::json& body) { return api->Post(path, body); };
  }
  std::unique_ptr<server::WebhookTokenAuthenticator> webhook_authn;
  std::unique_ptr<server::UnionAuthenticator> union_authn;
  server::Authenticator* authn = tokens.get();
  if (f.authentication_token_webhook) {
    if (!api) return Fail("--authentication-token-webhook needs --kubeconfig");
    auto ttl = Dur("authentication-token-webhook-cache-ttl", f.authentication_token_webhook_cache_ttl);
    if (!ttl.ok()) return Fail(ttl.error().message());
    webhook_authn = std::make_unique<server::WebhookTokenAuthenticator>(api_post, *ttl, RealClock::Instance());
    authn = webhook_authn.get();
    if (tokens) {
      union_authn = std::make_unique<server::UnionAuthenticator>(
          std::vector<server::Authenticator*>{tokens.get(), webhook_authn.get()});
      authn = union_authn.get();
    }
  }
  std::unique_ptr<server::WebhookAuthorizer> webhook_authz;
  if (f.authorization_mode == "Webhook") {
    if (!api) return Fail("--authorization-mode Webhook needs --kubeconfig");
    webhook_authz = std::make_unique<server::WebhookAuthorizer>(api_post, node_name, RealClock::Instance());
  } else if (!f.authorization_mode.empty()) {
    return Fail("--authorization-mode: " + f.authorization_mode + ": only Webhook is supported");
  }
  std::unique_ptr<server::ReadOnlyServer> ro_server;
  if (f.read_only_port > 0 || f.port > 0) {
    server::ReadOnlyServerOptions so;
    so.address = f.address;
    so.port = f.read_only_port > 0 ? f.read_only_port : -1;
    so.secure_port = f.port > 0 ? f.port : -1;
    so.tls_cert_file = f.tls_cert_file;
    so.tls_key_file = f.tls_private_key_file;
    so.authenticator = authn;
    so.authorizer = webhook_authz.get();
    so.anonymous_auth = f.anonymous_auth;
    so.pod_logs_dir = f.pod_logs_dir;
    so.root_dir = f.root_dir;
    so.node_name = node_name;
    so.cgroup_parent = ro.cgroup_parent;
    ro_server = std::make_unique<server::ReadOnlyServer>(so, kl.pod_view());
    if (auto r = ro_server->Start(); !r.ok()) return Fail(r.error().message());
  }

  // SIGTERM/SIGINT: exit and leave the pods running, as the kubelet does (containers outlive nanolet).
  uv_signal_t sigterm, sigint;
  for (auto* s : {&sigterm, &sigint}) {
    uv_signal_init(kl.loop(), s);
    s->data = &kl;
  }
  auto on_signal = [](uv_signal_t* s, int signum) {
    log::Info("signal received: exiting, pods keep running", {{"signal", std::to_string(signum)}});
    static_cast<kubelet::Kubelet*>(s->data)->Stop();
  };
  uv_signal_start(&sigterm, on_signal, SIGTERM);
  uv_signal_start(&sigint, on_signal, SIGINT);
  // Hand the free pages of malloc's heaps back every 30 s: after a burst (100 pods created, a large /pods
  // answer) glibc keeps them (bench/rss.sh, 100 pods: 20.5 MiB anonymous before a trim, 16.6 after).
  // A trim of a settled heap costs well under a millisecond.
  uv_timer_t trim_timer;
  uv_timer_init(kl.loop(), &trim_timer);
  uv_timer_start(&trim_timer, [](uv_timer_t*) { malloc_trim(0); }, 30000, 30000);
  uv_unref(reinterpret_cast<uv_handle_t*>(&trim_timer));

  log::Info("nanolet started", {{"version", NANOLET_VERSION}, {"node", node_name},
                                {"manifests", f.pod_manifest_path}, {"root", f.root_dir},
                                {"readOnlyPort", std::to_string(f.read_only_port)},
                                {"port", std::to_string(f.port)}});
  kl.Run();
  if (ro_server) ro_server->Stop();
  // Everything nanolet needs after a restart is on disk; in-flight pod work is abandoned as on SIGKILL.
  std::fflush(nullptr);
  std::_Exit(0);
}

int RunImages(const std::string& verb, const std::string& root, const std::string& arg, const std::string& tag,
              const std::vector<std::string>& insecure) {
  auto store = image::ImageStore::Open(root);
  if (!store.ok()) return Fail(store.error().message());
  if (verb == "import") {
    auto imgs = (*store)->Import(arg, tag);
    if (!imgs.ok()) return Fail(imgs.error().message());  // already "import PATH: ..."
    for (const auto& i : *imgs) {
      std::printf("%s %s\n", i.repo_tags.empty() ? "<none>" : i.repo_tags[0].c_str(), i.id.c_str());
    }
    return 0;
  }
  if (verb == "pull") {
    auto img = (*store)->Pull(arg, {}, insecure);
    if (!img.ok()) return Fail(img.error().message());  // already "pull REF: ..."
    std::printf("%s\n", img->id.c_str());
    return 0;
  }
  if (verb == "rm") {
    auto r = (*store)->Remove(arg);
    if (!r.ok()) return Fail("rm " + arg + ": " + r.error().message());
    return 0;
  }
  auto imgs = (*store)->List();
  if (!imgs.ok()) return Fail(imgs.error().message());
  std::printf("%-60s %-20s %s\n", "IMAGE", "IMAGE ID", "SIZE");
  for (const auto& i : *imgs) {
    std::string id = i.id.substr(i.id.find(':') + 1, 13);
    std::vector<std::string> names = i.repo_tags.empty() ? std::vector<std::string>{"<none>"} : i.repo_tags;
    for (const auto& n : names) {
      std::printf("%-60s %-20s %.1fMB\n", n.c_str(), id.c_str(), static_cast<double>(i.size) / 1e6);
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // A child that exits without reading its stdin (a CNI plugin, runc) must not kill nanolet with SIGPIPE: the
  // write fails with EPIPE instead. Children get the default disposition back (util/subprocess).
  std::signal(SIGPIPE, SIG_IGN);
  // Two malloc arenas, not 8 per core: every worker thread got its own arena, which kept freed memory
  // (bench/rss.sh, 100 pods: 36 MiB anonymous with the default, 19 MiB with two arenas).
  mallopt(M_ARENA_MAX, 2);
  Flags f;
  CLI::App app{"nanolet: a Kubernetes node agent (kubelet) on runc.\n"
               "Runs pods from a manifest directory (--pod-manifest-path), a manifest URL (--manifest-url)\n"
               "or an apiserver (--kubeconfig), and serves the kubelet's node API.",
               "nanolet"};
  app.set_version_flag("--version", std::string("nanolet v") + NANOLET_VERSION);
  app.add_option("--pod-manifest-path", f.pod_manifest_path, "Directory (or file) of static pod manifests");
  app.add_option("--config", f.config,
                 "A directory: the manifest directory; a file: a KubeletConfiguration YAML");
  app.add_option("--manifest-url", f.manifest_url, "URL of a Pod, PodList or v1 List to run, polled");
  app.add_option("--manifest-url-header", f.manifest_url_headers, "'Key:Value' header for --manifest-url")
      ->take_all();
  app.add_option("--kubeconfig", f.kubeconfig,
                 "kubeconfig of the apiserver to join: runs the pods bound to this node, registers the Node");
  app.add_option("--node-labels", f.node_labels, "Labels for the Node at registration: k=v[,k=v...]")
      ->delimiter(';');
  app.add_option("--register-node", f.register_node, "Register the Node with the apiserver")
      ->capture_default_str();
  app.add_option("--kube-api-qps", f.kube_api_qps, "Requests per second to the apiserver")->capture_default_str();
  app.add_option("--kube-api-burst", f.kube_api_burst, "Request burst to the apiserver")->capture_default_str();
  app.add_option("--hostname-override", f.hostname_override, "Node name (default: the hostname)");
  app.add_option("--root-dir", f.root_dir, "State directory")->capture_default_str();
  app.add_option("--pod-logs-dir", f.pod_logs_dir, "Container log directory")->capture_default_str();
  app.add_option("--address", f.address, "Address the HTTP servers listen on")->capture_default_str();
  app.add_option("--read-only-port", f.read_only_port, "Read-only HTTP port (0 disables)")->capture_default_str();
  app.add_option("--port", f.port, "Authenticated HTTPS port (0 disables)")->capture_default_str();
  app.add_option("--tls-cert-file", f.tls_cert_file,
                 "Serving certificate of --port (default: self-signed, kept in ROOT/pki)");
  app.add_option("--tls-private-key-file", f.tls_private_key_file, "Key of --tls-cert-file");
  app.add_option("--token-auth-file", f.token_auth_file,
                 "Bearer tokens accepted on --port: CSV lines token,user,uid,\"group1,group2\"; "
                 "users in group system:masters or system:kubelet-api-admin are allowed");
  app.add_flag("--authentication-token-webhook", f.authentication_token_webhook,
               "Check bearer tokens on --port with the apiserver's TokenReview (needs --kubeconfig)");
  app.add_option("--authentication-token-webhook-cache-ttl", f.authentication_token_webhook_cache_ttl,
                 "How long TokenReview answers are cached")
      ->capture_default_str();
  app.add_option("--authorization-mode", f.authorization_mode,
                 "Webhook: authorize --port requests with the apiserver's SubjectAccessReview "
                 "(default: users in group system:masters or system:kubelet-api-admin)");
  app.add_option("--anonymous-auth", f.anonymous_auth,
                 "Treat requests to --port without a token as system:anonymous (then 403) instead of 401")
      ->capture_default_str();
  app.add_option("--file-check-frequency", f.file_check_frequency, "Manifest directory re-check period")
      ->capture_default_str();
  app.add_option("--http-check-frequency", f.http_check_frequency, "Manifest URL poll period")
      ->capture_default_str();
  app.add_option("--sync-frequency", f.sync_frequency, "Full resync period")->capture_default_str();
  app.add_option("--node-status-update-frequency", f.node_status_update_frequency,
                 "Node status update period (with an apiserver)")
      ->capture_default_str();
  app.add_option("--container-runtime-binary", f.container_runtime_binary, "OCI runtime (default: runc on PATH)");
  app.add_option("--cni-bin-dir", f.cni_bin_dir, "CNI plugin directories")->delimiter(',')->capture_default_str();
  app.add_option("--cni-conf-dir", f.cni_conf_dir,
                 "CNI config directory (a built-in bridge config when empty)")
      ->capture_default_str();
  app.add_option("--max-pods", f.max_pods, "Pods this node runs at most")->capture_default_str();
  app.add_option("--container-log-max-size", f.container_log_max_size, "Log size that triggers rotation")
      ->capture_default_str();
  app.add_option("--container-log-max-files", f.container_log_max_files, "Log files kept per container")
      ->capture_default_str();
  app.add_option("--insecure-registry", f.insecure_registries, "host:port pulled over plain HTTP")->take_all();
  app.add_option("--v,-v", f.verbosity, "Log verbosity")->capture_default_str();

  // nanolet check [-o json|yaml] FILE...
  auto* check = app.add_subcommand("check", "Decode, default and validate manifests; run nothing");
  std::string check_output;
  std::vector<std::string> check_files;
  check->add_option("-o,--output", check_output, "Print the defaulted objects")->check(CLI::IsMember({"json", "yaml"}));
  check->add_option("files", check_files, "Manifest files")->required();

  // nanolet images import|list|pull|rm
  auto* images = app.add_subcommand("images", "Manage the image store");
  std::string image_arg, image_tag;
  auto* imp = images->add_subcommand("import", "Import an OCI image layout (directory or tar)");
  imp->add_option("path", image_arg)->required();
  imp->add_option("--tag", image_tag, "Name the image");
  auto* list = images->add_subcommand("list", "List images");
  auto* pull = images->add_subcommand("pull", "Pull an image from a registry");
  pull->add_option("ref", image_arg)->required();
  auto* rm = images->add_subcommand("rm", "Remove an image");
  rm->add_option("ref", image_arg)->required();
  for (auto* sub : {images, imp, list, pull, rm}) {
    sub->add_option("--root-dir", f.root_dir, "State directory")->capture_default_str();
  }
  pull->add_option("--insecure-registry", f.insecure_registries, "host:port pulled over plain HTTP")->take_all();
  images->require_subcommand(1);

  // nanolet get pods / nanolet logs: clients of the node API.
  cmd::ClientFlags cf;
  auto* get = app.add_subcommand("get", "Show pods (a small client of the node API)");
  auto* get_pods = get->add_subcommand("pods", "List pods");
  get_pods->alias("pod")->alias("po");
  get_pods->add_flag("-A,--all-namespaces", cf.all_namespaces, "Pods of every namespace");
  get_pods->add_option("-n,--namespace", cf.namespace_, "Namespace")->capture_default_str();
  get_pods->add_option("-o,--output", cf.output, "wide or json")->check(CLI::IsMember({"", "wide", "json"}));
  get->require_subcommand(1);
  auto* logs = app.add_subcommand("logs", "Print a container's log");
  logs->add_option("pod", cf.pod)->required();
  logs->add_option("-c,--container", cf.container, "Container (default: the only one)");
  logs->add_flag("-f,--follow", cf.follow, "Follow");
  logs->add_option("--tail", cf.tail, "Lines from the end (-1: all)")->capture_default_str();
  logs->add_option("-n,--namespace", cf.namespace_, "Namespace")->capture_default_str();
  for (auto* sub : {get_pods, logs}) {
    sub->add_option("--server", cf.server, "Node API URL")->capture_default_str();
  }
  // nanolet debug runtime-bench: OciRuntime driven directly (bench/runtime.sh). Hidden: not for users.
  auto* debug = app.add_subcommand("debug", "")->group("");
  auto* rtbench = debug->add_subcommand("runtime-bench", "Time pod sandbox + container create/start/remove");
  runtime::oci::RuntimeBenchOptions rb;
  rtbench->add_option("--root-dir", f.root_dir, "State directory")->capture_default_str();
  rtbench->add_option("--pod-logs-dir", rb.log_dir, "Pod log directories");
  rtbench->add_option("--runs", rb.runs, "Measured runs")->capture_default_str();
  rtbench->add_option("--warmup", rb.warmup, "Unmeasured runs first")->capture_default_str();
  rtbench->add_option("--image", rb.image, "Image (already in the store)")->capture_default_str();
  rtbench->add_option("--container-runtime-binary", f.container_runtime_binary, "OCI runtime");
  debug->require_subcommand(1);
  app.require_subcommand(0, 1);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (*check) return api::RunCheck(check_files, check_output, std::cout, std::cerr);
  if (*images) {
    std::string verb = *imp ? "import" : *pull ? "pull" : *rm ? "rm" : "list";
    return RunImages(verb, f.root_dir, image_arg, image_tag, f.insecure_registries);
  }
  if (*rtbench) {
    rb.runtime.root_dir = f.root_dir;
    rb.runtime.runc = f.container_runtime_binary;
    if (const char* b = std::getenv("NANOLET_CNI_BRIDGE")) rb.runtime.cni_bridge = b;
    if (const char* s = std::getenv("NANOLET_CNI_SUBNET")) rb.runtime.cni_subnet = s;
    if (const char* d = std::getenv("NANOLET_NETNS_DIR")) rb.runtime.netns_dir = d;
    if (const char* c = std::getenv("NANOLET_CGROUP_PARENT")) rb.runtime.cgroup_parent = c;
    return runtime::oci::RunRuntimeBench(rb, std::cout, std::cerr);
  }
  if (*get) return cmd::GetPods(cf);
  if (*logs) return cmd::Logs(cf);
  return RunAgent(f, app);
}
