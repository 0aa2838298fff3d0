#pragma once
// Defaulting exactly as upstream pkg/apis/core/v1/defaults.go (and the apps/batch template defaults).
#include "api/types.h"

namespace nanolet::api {

// imagePullPolicy: Always when the image has no tag or the tag is "latest", IfNotPresent otherwise (a digest
// counts as a tag); restartPolicy Always; terminationGracePeriodSeconds 30; dnsPolicy ClusterFirst;
// schedulerName default-scheduler; securityContext {}; enableServiceLinks true; probes period 10, timeout 1,
// success 1, failure 3; ports protocol TCP; httpGet scheme HTTP; terminationMessagePath /dev/termination-log,
// terminationMessagePolicy File; volume defaultMode 0644; hostPath type ""; fieldRef apiVersion v1;
// namespace "default" where unset.
void SetDefaults(Pod& pod);
void SetDefaults(PodSpec& spec);
void SetDefaults(Workload& w);  // Job templates default restartPolicy as upstream (no default: required)
void SetDefaults(Secret& s);

// The pull policy upstream would default for `image`.
std::string DefaultPullPolicy(std::string_view image);

}  // namespace nanolet::api
