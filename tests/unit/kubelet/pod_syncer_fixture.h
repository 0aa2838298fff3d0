#pragma once
// PodSyncerTestBase: a PodSyncer (the pod worker's blocking work) on the fake runtime and a FakeClock,
// with its root and pod log directories in a private temporary directory removed after the test.
// SetUp makes a syncer without an event sink; MakeSyncer(sink) makes another one that records to
// `sink`. Sync(pod) runs one sync the way the pod worker does, feeding back the previous status.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <memory>
#include <string>

#include "api/event_sink.h"
#include "kubelet/pod_worker.h"
#include "runtime/fake_runtime.h"
#include "util/clock.h"
#include "util/fs.h"

namespace nanolet::kubelet::testing {

class PodSyncerTestBase : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/nanolet-syncer-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    // The worker creates containers from the image ID; the fake finds images by reference only.
    rt_.AddImage("busybox:1.36", "busybox:1.36");
    MakeSyncer(nullptr);
  }
  void TearDown() override {
    syncer_.reset();
    if (!dir_.empty()) (void)RemoveAll(dir_);
  }

  void MakeSyncer(api::EventSink* events) {
    PodSyncOptions o;
    o.node_name = "node1";
    o.root_dir = dir_ + "/root";
    o.pod_logs_dir = dir_ + "/logs";
    o.host_ips = {"192.0.2.1"};
    o.events = events;
    syncer_ = std::make_unique<PodSyncer>(o, rt_, clock_);
  }

  SyncResult Sync(const api::Pod& pod) {
    SyncRequest req;
    req.pod = pod;
    req.first_seen = first_seen_;
    req.previous_status = last_;
    SyncResult r = syncer_->Sync(req);
    last_ = r.status;
    return r;
  }

  FakeClock clock_;
  runtime::FakeRuntime rt_{clock_};
  std::unique_ptr<PodSyncer> syncer_;
  std::string dir_;
  TimePoint first_seen_ = clock_.Now();  // when the pod worker first saw the pod
  api::PodStatus last_;                  // the status of the last Sync
};

}  // namespace nanolet::kubelet::testing
