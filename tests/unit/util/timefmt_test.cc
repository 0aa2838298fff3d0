#include "util/timefmt.h"

#include <gtest/gtest.h>

namespace nanolet {
namespace {

TEST(ParseDuration, GoForms) {
  struct Case {
    const char* in;
    int64_t ms;
  } cases[] = {{"0", 0}, {"500ms", 500}, {"20s", 20000}, {"1m30s", 90000}, {"1h", 3600000},
               {"1.5s", 1500}, {"-2s", -2000}, {"100us", 0}, {"2h45m", 9900000}};
  for (const auto& c : cases) {
    auto d = ParseDuration(c.in);
    ASSERT_TRUE(d.ok()) << c.in << ": " << d.error().message();
    EXPECT_EQ(std::chrono::duration_cast<std::chrono::milliseconds>(*d).count(), c.ms) << c.in;
  }
}

TEST(ParseDuration, RejectsBadInput) {
  for (const char* in : {"", "10", "s", "1x", "abc", "1.s.", "--1s"}) {
    EXPECT_FALSE(ParseDuration(in).ok()) << in;
  }
}

TEST(FormatDuration, AsGo) {
  EXPECT_EQ(FormatDuration(std::chrono::seconds(90)), "1m30s");
  EXPECT_EQ(FormatDuration(std::chrono::milliseconds(500)), "500ms");
  EXPECT_EQ(FormatDuration(Duration(0)), "0s");
  EXPECT_EQ(FormatDuration(std::chrono::hours(2)), "2h0m0s");
}

TEST(RFC3339, RoundTrip) {
  auto t = ParseRFC3339("2026-11-27T18:40:01.123456789Z");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(FormatRFC3339Nano(*t), "2026-11-27T18:40:01.123456789Z");
  EXPECT_EQ(FormatRFC3339(*t), "2026-11-27T18:40:01Z");
  EXPECT_EQ(FormatRFC3339Micro(*t), "2026-11-27T18:40:01.123456Z");
  auto off = ParseRFC3339("2026-11-27T20:40:01+02:00");
  ASSERT_TRUE(off.ok());
  EXPECT_EQ(FormatRFC3339(*off), "2026-11-27T18:40:01Z");
  EXPECT_FALSE(ParseRFC3339("yesterday").ok());
}

// Years a 64-bit nanosecond TimePoint cannot hold are errors, not overflows (found by fuzz/fuzz_logs).
TEST(RFC3339, OutOfRange) {
  EXPECT_FALSE(ParseRFC3339("3785-11-27T18:19:31.000000001Z").ok());
  EXPECT_FALSE(ParseRFC3339("1000-01-01T00:00:00Z").ok());
  EXPECT_TRUE(ParseRFC3339("2261-12-31T23:59:59Z").ok());
  EXPECT_TRUE(ParseRFC3339("1970-01-01T00:00:00Z").ok());
}

}  // namespace
}  // namespace nanolet
