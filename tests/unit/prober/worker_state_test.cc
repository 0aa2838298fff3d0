// The probe worker's decisions (upstream worker.go doProbe) on a fake clock.
#include "prober/worker_state.h"

#include <gtest/gtest.h>

namespace nanolet::prober {
namespace {

using Step = WorkerState::Step;
using std::chrono::seconds;

api::Probe MakeProbe(int initial_delay = 0, int success = 1, int failure = 3) {
  api::Probe p;
  p.initial_delay_seconds = initial_delay;
  p.period_seconds = 10;
  p.timeout_seconds = 1;
  p.success_threshold = success;
  p.failure_threshold = failure;
  return p;
}

struct WorkerStateTest : ::testing::Test {
  FakeClock clock;
  ContainerView Running(const std::string& id = "c1", bool started = true) {
    ContainerView v;
    v.id = id;
    v.running = true;
    v.started_at = clock.Now();
    v.started = started;
    return v;
  }
  Step Tick(WorkerState& w, const std::optional<ContainerView>& v, bool* changed = nullptr) {
    bool c = false;
    Step s = w.Tick(v, clock.Now(), &c);
    if (changed) *changed = c;
    return s;
  }
};

TEST_F(WorkerStateTest, InitialResults_ReadinessFailure_LivenessSuccess_StartupUnset) {
  WorkerState r(ProbeType::kReadiness, MakeProbe(), false);
  WorkerState l(ProbeType::kLiveness, MakeProbe(), false);
  WorkerState s(ProbeType::kStartup, MakeProbe(), false);
  auto v = Running("c1", false);
  Tick(r, v);
  Tick(l, v);
  Tick(s, v);
  EXPECT_EQ(r.result(), ProbeResult::kFailure);
  EXPECT_EQ(l.result(), ProbeResult::kSuccess);
  EXPECT_EQ(s.result(), std::nullopt);
  EXPECT_EQ(r.container_id(), "c1");
}

TEST_F(WorkerStateTest, ContainerNotInStatus_NoProbe) {
  WorkerState w(ProbeType::kReadiness, MakeProbe(), false);
  EXPECT_EQ(Tick(w, std::nullopt), Step::kSkip);
  EXPECT_EQ(w.container_id(), "");
}

TEST_F(WorkerStateTest, InitialDelay_NoProbeUntilItPasses) {
  WorkerState w(ProbeType::kLiveness, MakeProbe(/*initial_delay=*/5), false);
  auto v = Running();
  EXPECT_EQ(Tick(w, v), Step::kSkip);
  clock.Advance(seconds(4));
  EXPECT_EQ(Tick(w, v), Step::kSkip);
  clock.Advance(std::chrono::milliseconds(999));
  EXPECT_EQ(Tick(w, v), Step::kSkip);  // whole seconds, truncated, as upstream
  clock.Advance(std::chrono::milliseconds(1));
  EXPECT_EQ(Tick(w, v), Step::kProbe);
}

TEST_F(WorkerStateTest, Readiness_SuccessThreshold_ThenFailureThreshold_BothWays) {
  WorkerState w(ProbeType::kReadiness, MakeProbe(0, /*success=*/2, /*failure=*/3), false);
  auto v = Running();
  ASSERT_EQ(Tick(w, v), Step::kProbe);
  EXPECT_FALSE(w.Record(true));  // 1 of 2
  EXPECT_EQ(w.result(), ProbeResult::kFailure);
  EXPECT_TRUE(w.Record(true));  // 2 of 2: ready
  EXPECT_EQ(w.result(), ProbeResult::kSuccess);
  EXPECT_FALSE(w.Record(true));  // no change
  EXPECT_FALSE(w.Record(false));
  EXPECT_FALSE(w.Record(false));
  EXPECT_FALSE(w.Record(true));  // a success resets the failure run
  EXPECT_FALSE(w.Record(false));
  EXPECT_FALSE(w.Record(false));
  EXPECT_TRUE(w.Record(false));  // 3 in a row
  EXPECT_EQ(w.result(), ProbeResult::kFailure);
  // Readiness keeps probing after a failure (no hold).
  EXPECT_EQ(Tick(w, v), Step::kProbe);
}

TEST_F(WorkerStateTest, Liveness_FailureThreshold_ThenHoldUntilNewContainer) {
  WorkerState w(ProbeType::kLiveness, MakeProbe(0, 1, /*failure=*/2), false);
  auto v = Running("c1");
  ASSERT_EQ(Tick(w, v), Step::kProbe);
  EXPECT_FALSE(w.Record(false));
  EXPECT_EQ(w.result(), ProbeResult::kSuccess);
  EXPECT_TRUE(w.Record(false));
  EXPECT_EQ(w.result(), ProbeResult::kFailure);
  EXPECT_TRUE(w.on_hold());
  EXPECT_EQ(Tick(w, v), Step::kSkip);  // on hold: the container is being killed
  // The restarted container has a new ID: results reset, probing resumes.
  auto v2 = Running("c2");
  EXPECT_EQ(Tick(w, v2), Step::kProbe);
  EXPECT_EQ(w.result(), ProbeResult::kSuccess);
  EXPECT_FALSE(w.on_hold());
  EXPECT_FALSE(w.Record(false));  // the counters were reset too
}

TEST_F(WorkerStateTest, StartupProbe_HoldsLivenessAndReadiness_UntilStarted) {
  WorkerState s(ProbeType::kStartup, MakeProbe(), false);
  WorkerState l(ProbeType::kLiveness, MakeProbe(), false);
  WorkerState r(ProbeType::kReadiness, MakeProbe(), false);
  auto v = Running("c1", /*started=*/false);
  EXPECT_EQ(Tick(s, v), Step::kProbe);
  EXPECT_EQ(Tick(l, v), Step::kSkip);
  EXPECT_EQ(Tick(r, v), Step::kSkip);
  EXPECT_TRUE(s.Record(true));
  EXPECT_EQ(s.result(), ProbeResult::kSuccess);
  v.started = true;  // the sync reports started once the startup result is in
  EXPECT_EQ(Tick(s, v), Step::kSkip);
  EXPECT_EQ(Tick(l, v), Step::kProbe);
  EXPECT_EQ(Tick(r, v), Step::kProbe);
}

TEST_F(WorkerStateTest, StartupProbe_FailureThreshold_Holds) {
  WorkerState s(ProbeType::kStartup, MakeProbe(0, 1, /*failure=*/1), false);
  auto v = Running("c1", false);
  ASSERT_EQ(Tick(s, v), Step::kProbe);
  EXPECT_TRUE(s.Record(false));
  EXPECT_EQ(s.result(), ProbeResult::kFailure);
  EXPECT_EQ(Tick(s, v), Step::kSkip);
}

TEST_F(WorkerStateTest, NotRunning_ResultIsFailure_NoProbe) {
  WorkerState w(ProbeType::kReadiness, MakeProbe(), false);
  auto v = Running();
  ASSERT_EQ(Tick(w, v), Step::kProbe);
  w.Record(true);
  ASSERT_EQ(w.result(), ProbeResult::kSuccess);
  v.running = false;
  v.terminated = true;
  bool changed = false;
  EXPECT_EQ(Tick(w, v, &changed),
            Step::kSkip);  // restartPolicy Always: wait for the next container
  EXPECT_TRUE(changed);
  EXPECT_EQ(w.result(), ProbeResult::kFailure);
}

TEST_F(WorkerStateTest, RestartPolicyNever_TerminatedContainer_StopsWorker) {
  WorkerState w(ProbeType::kLiveness, MakeProbe(), /*restart_never=*/true);
  auto v = Running();
  v.running = false;
  v.terminated = true;
  EXPECT_EQ(Tick(w, v), Step::kStop);
}

TEST_F(WorkerStateTest, WaitingContainerWithoutID_NoResultChange) {
  WorkerState w(ProbeType::kLiveness, MakeProbe(), false);
  ContainerView v;  // waiting: no ID, not running
  bool changed = true;
  EXPECT_EQ(Tick(w, v, &changed), Step::kSkip);
  EXPECT_FALSE(changed);
  EXPECT_EQ(w.result(), ProbeResult::kSuccess);
}

TEST_F(WorkerStateTest, UndefaultedSpec_UsesUpstreamDefaults) {
  api::Probe p;  // zeros
  WorkerState w(ProbeType::kLiveness, p, false);
  EXPECT_EQ(w.period_seconds(), 10);
  EXPECT_EQ(w.timeout_seconds(), 1);
  ASSERT_EQ(Tick(w, Running()), Step::kProbe);
  EXPECT_FALSE(w.Record(false));
  EXPECT_FALSE(w.Record(false));
  EXPECT_TRUE(w.Record(false));  // failureThreshold 3
}

}  // namespace
}  // namespace nanolet::prober
