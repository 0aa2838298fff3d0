// JSON encoding: upstream field names and omitempty rules, and decode(encode(x)) == x.
#include "api/encode.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "api/decode.h"
#include "api/defaults.h"

namespace nanolet::api {
namespace {

using nlohmann::json;

const char* kRichPod = R"(apiVersion: v1
kind: Pod
metadata:
  name: rich
  namespace: apps
  uid: 0b5c7c4e
  resourceVersion: "42"
  generation: 3
  creationTimestamp: "2024-05-01T10:00:00Z"
  deletionTimestamp: "2024-05-01T11:00:00Z"
  deletionGracePeriodSeconds: 30
  labels: {app: rich}
  annotations: {kubernetes.io/config.source: file}
  ownerReferences:
  - {apiVersion: v1, kind: Node, name: n1, uid: u1, controller: true}
  finalizers: [a/b]
spec:
  hostNetwork: true
  hostPID: true
  shareProcessNamespace: false
  nodeName: n1
  hostname: h
  subdomain: s
  activeDeadlineSeconds: 60
  serviceAccountName: sa
  automountServiceAccountToken: false
  priority: 5
  nodeSelector: {disk: ssd}
  imagePullSecrets: [{name: reg}]
  tolerations: [{key: k, operator: Exists, effect: NoSchedule, tolerationSeconds: 5}]
  hostAliases: [{ip: 1.2.3.4, hostnames: [a, b]}]
  dnsConfig: {nameservers: [1.1.1.1], searches: [x], options: [{name: ndots, value: "2"}]}
  securityContext: {runAsUser: 1000, fsGroup: 2000, supplementalGroups: [1, 2],
                    seccompProfile: {type: RuntimeDefault}}
  volumes:
  - {name: e, emptyDir: {medium: Memory, sizeLimit: 64Mi}}
  - {name: h, hostPath: {path: /var/log, type: Directory}}
  - name: c
    configMap: {name: cm, items: [{key: a, path: a.txt, mode: 0400}], optional: true}
  - {name: s, secret: {secretName: sec, defaultMode: 0600}}
  - name: d
    downwardAPI:
      items:
      - {path: labels, fieldRef: {apiVersion: v1, fieldPath: metadata.labels}}
      - {path: cpu, resourceFieldRef: {containerName: app, resource: limits.cpu, divisor: 1m}}
  - name: p
    projected:
      defaultMode: 0644
      sources:
      - secret: {name: sec, items: [{key: k, path: k}]}
      - configMap: {name: cm}
      - serviceAccountToken: {audience: api, expirationSeconds: 3600, path: token}
      - downwardAPI: {items: [{path: podname, fieldRef: {fieldPath: metadata.name}}]}
  - {name: pvc, persistentVolumeClaim: {claimName: claim, readOnly: true}}
  initContainers:
  - name: init
    image: busybox:1.35
    restartPolicy: Always
  containers:
  - name: app
    image: busybox:1.35
    command: [sh, -c]
    args: [echo hi]
    workingDir: /w
    stdin: true
    stdinOnce: true
    tty: true
    ports:
    - {name: http, containerPort: 8080, hostPort: 8080, protocol: TCP, hostIP: 127.0.0.1}
    env:
    - {name: A, value: "1"}
    - name: POD
      valueFrom: {fieldRef: {fieldPath: metadata.name}}
    - name: KEY
      valueFrom: {secretKeyRef: {name: sec, key: k, optional: true}}
    - name: CM
      valueFrom: {configMapKeyRef: {name: cm, key: k}}
    - name: MEM
      valueFrom: {resourceFieldRef: {resource: limits.memory, divisor: 1Mi}}
    envFrom:
    - {prefix: P_, configMapRef: {name: cm}}
    - secretRef: {name: sec, optional: false}
    resources:
      limits: {cpu: 500m, memory: 128Mi}
      requests: {cpu: 250m}
    volumeMounts:
    - {name: e, mountPath: /e, readOnly: true, subPath: x, mountPropagation: HostToContainer}
    livenessProbe:
      httpGet:
        path: /healthz
        port: http
        host: localhost
        scheme: HTTPS
        httpHeaders: [{name: X, value: yes-please}]
      initialDelaySeconds: 5
      periodSeconds: 7
      terminationGracePeriodSeconds: 10
    readinessProbe:
      tcpSocket: {port: 8080}
    startupProbe:
      grpc: {port: 9000, service: health}
    lifecycle:
      postStart: {exec: {command: [touch, /x]}}
      preStop: {sleep: {seconds: 3}}
    securityContext:
      privileged: false
      capabilities: {add: [NET_ADMIN], drop: [ALL]}
      readOnlyRootFilesystem: true
      allowPrivilegeEscalation: false
      runAsNonRoot: true
      runAsGroup: 3
      seccompProfile: {type: Localhost, localhostProfile: p.json}
    terminationMessagePolicy: FallbackToLogsOnError
status:
  phase: Running
  message: m
  reason: r
  hostIP: 10.0.0.1
  hostIPs: [{ip: 10.0.0.1}]
  podIP: 10.1.0.5
  podIPs: [{ip: 10.1.0.5}]
  startTime: "2024-05-01T10:00:01Z"
  qosClass: Burstable
  conditions:
  - {type: Ready, status: "True", lastTransitionTime: "2024-05-01T10:00:02Z"}
  initContainerStatuses:
  - name: init
    ready: true
    restartCount: 0
    image: busybox:1.35
    imageID: sha256:abc
    state: {terminated: {exitCode: 0, reason: Completed, startedAt: "2024-05-01T10:00:01Z",
                         finishedAt: "2024-05-01T10:00:02Z", containerID: "runc://a"}}
    lastState: {}
  containerStatuses:
  - name: app
    ready: false
    restartCount: 4
    image: busybox:1.35
    imageID: sha256:abc
    containerID: runc://b
    started: true
    state: {waiting: {reason: CrashLoopBackOff, message: back-off}}
    lastState: {terminated: {exitCode: 137, signal: 9, reason: OOMKilled}}
)";

Pod DecodeOne(const std::string& text) {
  DecodeResult r = DecodeManifest(text, "x");
  EXPECT_TRUE(r.errors.empty()) << (r.errors.empty() ? "" : r.errors[0].ToString());
  EXPECT_TRUE(r.warnings.empty()) << (r.warnings.empty() ? "" : r.warnings[0].ToString());
  EXPECT_EQ(r.objects.size(), 1u);
  if (r.objects.empty()) return {};
  return std::get<Pod>(r.objects[0].object);
}

TEST(Encode, RichPodRoundTrips) {
  Pod pod = DecodeOne(kRichPod);
  json j = Encode(pod);
  auto back = DecodePod(j);
  ASSERT_TRUE(back.ok()) << back.error().message();
  EXPECT_TRUE(*back == pod) << j.dump(2);
  // Through text and the manifest decoder too, after defaulting.
  SetDefaults(pod);
  Pod again = DecodeOne(Encode(pod).dump());
  EXPECT_TRUE(again == pod);
}

TEST(Encode, UpstreamFieldNames) {
  json j = Encode(DecodeOne(kRichPod));
  EXPECT_EQ(j["metadata"]["namespace"], "apps");
  EXPECT_EQ(j["spec"]["containers"][0]["stdin"], true);
  EXPECT_EQ(j["spec"]["tolerations"][0]["operator"], "Exists");
  EXPECT_EQ(j["spec"]["hostPID"], true);
  EXPECT_EQ(j["spec"]["containers"][0]["ports"][0]["hostIP"], "127.0.0.1");
  // Probe handlers are inlined into the probe.
  EXPECT_EQ(j["spec"]["containers"][0]["livenessProbe"]["httpGet"]["port"], "http");
  EXPECT_EQ(j["spec"]["containers"][0]["readinessProbe"]["tcpSocket"]["port"], 8080);
  EXPECT_FALSE(j["spec"]["containers"][0]["livenessProbe"].contains("handler"));
  // Projected secrets name the secret "name"; secret volumes "secretName".
  EXPECT_EQ(j["spec"]["volumes"][5]["projected"]["sources"][0]["secret"]["name"], "sec");
  EXPECT_EQ(j["spec"]["volumes"][3]["secret"]["secretName"], "sec");
  EXPECT_EQ(j["spec"]["volumes"][3]["secret"]["defaultMode"], 0600);
  EXPECT_EQ(j["spec"]["containers"][0]["resources"]["limits"]["memory"], "128Mi");
  EXPECT_EQ(j["status"]["initContainerStatuses"][0]["state"]["terminated"]["exitCode"], 0);
  EXPECT_EQ(j["status"]["conditions"][0]["lastProbeTime"], nullptr);
  EXPECT_EQ(j["status"]["containerStatuses"][0]["lastState"]["terminated"]["signal"], 9);
}

TEST(Encode, OmitEmptyAsGoStructTags) {
  Pod pod;
  pod.metadata.name = "p";
  Container c;
  c.name = "c";
  c.ports.push_back({});
  pod.spec.containers.push_back(c);
  ContainerStatus st;
  st.name = "c";
  st.state.terminated.emplace();
  pod.status.init_container_statuses.push_back(st);
  json j = Encode(pod);
  EXPECT_EQ(j["apiVersion"], "v1");
  EXPECT_EQ(j["kind"], "Pod");
  EXPECT_TRUE(j["metadata"].contains("creationTimestamp"));
  EXPECT_EQ(j["metadata"]["creationTimestamp"], nullptr);
  EXPECT_FALSE(j["metadata"].contains("namespace"));
  EXPECT_FALSE(j["metadata"].contains("labels"));
  EXPECT_FALSE(j["spec"].contains("hostNetwork"));
  EXPECT_FALSE(j["spec"].contains("volumes"));
  EXPECT_FALSE(j["spec"].contains("restartPolicy"));
  EXPECT_EQ(j["spec"]["containers"][0]["ports"][0]["containerPort"], 0);
  EXPECT_EQ(j["spec"]["containers"][0]["resources"], json::object());
  EXPECT_FALSE(j["spec"]["containers"][0].contains("image"));
  EXPECT_FALSE(j["spec"]["containers"][0].contains("stdin"));
  EXPECT_FALSE(j["status"].contains("containerStatuses"));
  EXPECT_FALSE(j["status"].contains("phase"));
  const json& s = j["status"]["initContainerStatuses"][0];
  EXPECT_EQ(s["ready"], false);
  EXPECT_EQ(s["restartCount"], 0);
  EXPECT_EQ(s["image"], "");
  EXPECT_EQ(s["imageID"], "");
  EXPECT_EQ(s["lastState"], json::object());
  EXPECT_EQ(s["state"]["terminated"]["exitCode"], 0);
  EXPECT_EQ(s["state"]["terminated"]["startedAt"], nullptr);
  EXPECT_FALSE(s.contains("containerID"));
  // A pod without containers writes null as Go does for a nil slice.
  EXPECT_EQ(Encode(Pod{})["spec"]["containers"], nullptr);
  EXPECT_TRUE(DecodePod(Encode(Pod{})).ok());
}

TEST(Encode, StatusAndMetaParts) {
  PodStatus st;
  st.phase = "Pending";
  json j = EncodeStatus(st);
  EXPECT_EQ(j, json({{"phase", "Pending"}}));
  ObjectMeta m;
  m.name = "n";
  EXPECT_EQ(EncodeMeta(m), json({{"name", "n"}, {"creationTimestamp", nullptr}}));
}

TEST(Encode, PodList) {
  PodList list;
  list.items.push_back(DecodeOne(kRichPod));
  json j = Encode(list);
  EXPECT_EQ(j["kind"], "PodList");
  EXPECT_EQ(j["apiVersion"], "v1");
  ASSERT_EQ(j["items"].size(), 1u);
  EXPECT_EQ(j["items"][0]["metadata"]["name"], "rich");
  EXPECT_EQ(Encode(PodList{})["items"], json::array());
}

TEST(Encode, SecretAndConfigMapRoundTripBase64) {
  Secret s;
  s.type_meta = {"v1", "Secret"};
  s.metadata.name = "s";
  s.data["bin"] = std::string("\x00\xff\x10", 3);
  s.data["text"] = "hello";
  s.type = "Opaque";
  s.immutable = true;
  json j = Encode(s);
  EXPECT_EQ(j["data"]["text"], "aGVsbG8=");
  EXPECT_EQ(j["data"]["bin"], "AP8Q");
  auto back = DecodeSecret(j);
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(*back == s);

  ConfigMap cm;
  cm.type_meta = {"v1", "ConfigMap"};
  cm.metadata.name = "c";
  cm.data["a"] = "b";
  cm.binary_data["x"] = std::string("\x01\x02", 2);
  json cj = Encode(cm);
  EXPECT_EQ(cj["binaryData"]["x"], "AQI=");
  auto cback = DecodeConfigMap(cj);
  ASSERT_TRUE(cback.ok());
  EXPECT_TRUE(*cback == cm);
}

TEST(Encode, NodeLeaseEventRoundTrip) {
  Node n;
  n.type_meta = {"v1", "Node"};
  n.metadata.name = "n1";
  n.spec.pod_cidr = "10.1.0.0/24";
  n.spec.taints.push_back({"k", "v", "NoSchedule", ""});
  n.status.capacity["cpu"] = *Quantity::Parse("4");
  n.status.allocatable["memory"] = *Quantity::Parse("7Gi");
  n.status.conditions.push_back({"Ready", "True", "t1", "t2", "KubeletReady", "ok"});
  n.status.addresses.push_back({"InternalIP", "10.0.0.1"});
  n.status.kubelet_endpoint_port = 10250;
  n.status.node_info.kubelet_version = "v1.30.0-nanolet";
  json nj = Encode(n);
  EXPECT_EQ(nj["status"]["daemonEndpoints"]["kubeletEndpoint"]["Port"], 10250);
  EXPECT_EQ(nj["status"]["nodeInfo"]["machineID"], "");
  auto nb = DecodeNode(nj);
  ASSERT_TRUE(nb.ok()) << nb.error().message();
  EXPECT_TRUE(*nb == n);

  Lease l;
  l.type_meta = {"coordination.k8s.io/v1", "Lease"};
  l.metadata.name = "n1";
  l.metadata.namespace_ = "kube-node-lease";
  l.holder_identity = "n1";
  l.lease_duration_seconds = 40;
  l.renew_time = "2024-05-01T10:00:00.000000Z";
  json lj = Encode(l);
  EXPECT_EQ(lj["spec"]["renewTime"], "2024-05-01T10:00:00.000000Z");
  auto lb = DecodeLease(lj);
  ASSERT_TRUE(lb.ok());
  EXPECT_TRUE(*lb == l);

  Event e;
  e.type_meta = {"v1", "Event"};
  e.metadata.name = "p.1";
  e.involved_object = {"Pod", "default", "p", "u", "v1", "", "spec.containers{c}"};
  e.reason = "Started";
  e.source = {"kubelet", "n1"};
  e.count = 1;
  e.type = "Normal";
  json ej = Encode(e);
  EXPECT_EQ(ej["involvedObject"]["fieldPath"], "spec.containers{c}");
  EXPECT_EQ(ej["firstTimestamp"], nullptr);
  DecodeResult r = DecodeManifest(ej.dump(), "e.json");
  ASSERT_TRUE(r.errors.empty());
  ASSERT_EQ(r.objects.size(), 1u);
  EXPECT_TRUE(std::get<Event>(r.objects[0].object) == e);
}

TEST(Encode, WorkloadUsesTemplate) {
  DecodeResult r = DecodeManifest(
      "apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\nspec:\n  template:\n    spec:\n"
      "      restartPolicy: Never\n      containers: [{name: a, image: b}]\n",
      "j.yaml");
  ASSERT_EQ(r.objects.size(), 1u);
  Workload w = std::get<Workload>(r.objects[0].object);
  json j = Encode(w);
  EXPECT_EQ(j["kind"], "Job");
  EXPECT_EQ(j["spec"]["template"]["spec"]["restartPolicy"], "Never");
  EXPECT_EQ(j["spec"]["template"]["metadata"]["creationTimestamp"], nullptr);
  DecodeResult back = DecodeManifest(j.dump(), "j.json");
  ASSERT_EQ(back.objects.size(), 1u);
  EXPECT_TRUE(std::get<Workload>(back.objects[0].object) == w);
}

}  // namespace
}  // namespace nanolet::api
