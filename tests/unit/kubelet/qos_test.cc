// QoS class, table-driven as upstream's TestComputePodQOS cases (without pod-level resources).
#include <gtest/gtest.h>

#include "kubelet/qos.h"
#include "test_util.h"

namespace nanolet::kubelet {
namespace {

using namespace testing;

api::Quantity Q(const char* s) { return *api::Quantity::Parse(s); }

struct Res {
  std::map<std::string, std::string> requests, limits;
};

api::Pod PodWith(std::vector<Res> containers, std::vector<Res> inits = {}) {
  api::Pod p = MakePod("Always", {});
  int i = 0;
  auto fill = [&](const Res& r) {
    api::Container c = MakeContainer("c" + std::to_string(i++));
    for (const auto& [k, v] : r.requests) c.resources.requests[k] = Q(v.c_str());
    for (const auto& [k, v] : r.limits) c.resources.limits[k] = Q(v.c_str());
    return c;
  };
  for (const auto& r : containers) p.spec.containers.push_back(fill(r));
  for (const auto& r : inits) p.spec.init_containers.push_back(fill(r));
  return p;
}

TEST(PodQOS, Table) {
  struct Case {
    const char* name;
    api::Pod pod;
    std::string_view want;
  } cases[] = {
      {"no resources", PodWith({{}}), kQOSBestEffort},
      {"zero requests only", PodWith({{{{"cpu", "0"}, {"memory", "0"}}, {}}}), kQOSBestEffort},
      {"only extended resources", PodWith({{{{"nvidia.com/gpu", "1"}}, {{"nvidia.com/gpu", "1"}}}}),
       kQOSBestEffort},
      {"cpu and memory limits equal requests",
       PodWith({{{{"cpu", "100m"}, {"memory", "100Mi"}}, {{"cpu", "100m"}, {"memory", "100Mi"}}}}),
       kQOSGuaranteed},
      {"two guaranteed containers",
       PodWith({{{{"cpu", "100m"}, {"memory", "100Mi"}}, {{"cpu", "100m"}, {"memory", "100Mi"}}},
                {{{"cpu", "1"}, {"memory", "1Gi"}}, {{"cpu", "1"}, {"memory", "1Gi"}}}}),
       kQOSGuaranteed},
      {"0.1 equals 100m",
       PodWith({{{{"cpu", "0.1"}, {"memory", "1Mi"}}, {{"cpu", "100m"}, {"memory", "1Mi"}}}}),
       kQOSGuaranteed},
      {"memory limit missing", PodWith({{{{"cpu", "100m"}}, {{"cpu", "100m"}}}}), kQOSBurstable},
      {"requests below limits",
       PodWith({{{{"cpu", "50m"}, {"memory", "100Mi"}}, {{"cpu", "100m"}, {"memory", "100Mi"}}}}),
       kQOSBurstable},
      {"one guaranteed, one best effort",
       PodWith(
           {{{{"cpu", "100m"}, {"memory", "100Mi"}}, {{"cpu", "100m"}, {"memory", "100Mi"}}}, {}}),
       kQOSBurstable},
      {"init container without limits",
       PodWith({{{{"cpu", "100m"}, {"memory", "100Mi"}}, {{"cpu", "100m"}, {"memory", "100Mi"}}}},
               {{}}),
       kQOSBurstable},
      {"best effort app, init with requests", PodWith({{}}, {{{{"memory", "10Mi"}}, {}}}),
       kQOSBurstable},
  };
  for (const auto& c : cases) EXPECT_EQ(ComputePodQOS(c.pod), c.want) << c.name;
}

TEST(PodQOS, StatusClassWins) {
  api::Pod p = PodWith({{}});
  p.status.qos_class = "Burstable";
  EXPECT_EQ(GetPodQOS(p), kQOSBurstable);
  p.status.qos_class.clear();
  EXPECT_EQ(GetPodQOS(p), kQOSBestEffort);
}

}  // namespace
}  // namespace nanolet::kubelet
