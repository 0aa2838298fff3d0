// resource.Quantity parsing and canonical printing, table-driven from upstream's quantity_test.go.
#include "api/quantity.h"

#include <gtest/gtest.h>

namespace nanolet::api {
namespace {

struct CanonicalCase {
  const char* input;
  const char* canonical;
};

class QuantityCanonical : public ::testing::TestWithParam<CanonicalCase> {};

TEST_P(QuantityCanonical, ParsesAndPrintsCanonically) {
  auto q = Quantity::Parse(GetParam().input);
  ASSERT_TRUE(q.ok()) << GetParam().input << ": " << q.error().message();
  EXPECT_EQ(q->String(), GetParam().canonical) << "input " << GetParam().input;
  // The canonical form parses back to the same value and prints the same.
  auto again = Quantity::Parse(q->String());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->String(), GetParam().canonical);
  EXPECT_EQ(again->Cmp(*q), 0);
}

INSTANTIATE_TEST_SUITE_P(
    Upstream, QuantityCanonical,
    ::testing::Values(
        CanonicalCase{"0", "0"}, CanonicalCase{"0n", "0"}, CanonicalCase{"0u", "0"},
        CanonicalCase{"0m", "0"}, CanonicalCase{"0Ki", "0"}, CanonicalCase{"0k", "0"},
        CanonicalCase{"0Mi", "0"}, CanonicalCase{"0M", "0"}, CanonicalCase{"0G", "0"},
        CanonicalCase{"0e3", "0"}, CanonicalCase{"1n", "1n"}, CanonicalCase{"1u", "1u"},
        CanonicalCase{"1m", "1m"}, CanonicalCase{"100m", "100m"}, CanonicalCase{"1", "1"},
        CanonicalCase{"1k", "1k"}, CanonicalCase{"1M", "1M"}, CanonicalCase{"1G", "1G"},
        CanonicalCase{"1T", "1T"}, CanonicalCase{"1P", "1P"}, CanonicalCase{"1E", "1E"},
        CanonicalCase{"1Ki", "1Ki"}, CanonicalCase{"1Mi", "1Mi"}, CanonicalCase{"128Mi", "128Mi"},
        CanonicalCase{"1Gi", "1Gi"}, CanonicalCase{"1Ti", "1Ti"}, CanonicalCase{"1Pi", "1Pi"},
        CanonicalCase{"1Ei", "1Ei"}, CanonicalCase{"1024Mi", "1Gi"}, CanonicalCase{"2048Ki", "2Mi"},
        CanonicalCase{"1025Ki", "1025Ki"}, CanonicalCase{"1.5Gi", "1536Mi"},
        CanonicalCase{"0.5Gi", "512Mi"}, CanonicalCase{"1.1Ki", "1126400m"},
        CanonicalCase{"0.5Ki", "512"}, CanonicalCase{"1023", "1023"}, CanonicalCase{"1024", "1024"},
        CanonicalCase{"0.5", "500m"}, CanonicalCase{".5", "500m"}, CanonicalCase{"0.3", "300m"},
        CanonicalCase{"1.5", "1500m"}, CanonicalCase{"1000", "1k"}, CanonicalCase{"1000m", "1"},
        CanonicalCase{"1.5k", "1500"}, CanonicalCase{"1.5M", "1500k"},
        CanonicalCase{"1.5E", "1500P"}, CanonicalCase{"0.1m", "100u"}, CanonicalCase{"1e3", "1e3"},
        CanonicalCase{"1E3", "1e3"}, CanonicalCase{"1e6", "1e6"}, CanonicalCase{"1e-3", "1e-3"},
        CanonicalCase{"100e3", "100e3"}, CanonicalCase{"12e6", "12e6"},
        CanonicalCase{"1.5e3", "1500"}, CanonicalCase{"1e+3", "1e3"}, CanonicalCase{"-1", "-1"},
        CanonicalCase{"-0.5", "-500m"}, CanonicalCase{"+1", "1"}, CanonicalCase{"5.", "5"},
        CanonicalCase{"007", "7"},
        // Values are rounded up to nano units.
        CanonicalCase{"0.0001n", "1n"}, CanonicalCase{"1.0000000001", "1000000001n"},
        // Binary values are capped at the int64 maximum.
        CanonicalCase{"100000000Ei", "9223372036854775807"}));

struct BadCase {
  const char* input;
  const char* error;
};

class QuantityRejects : public ::testing::TestWithParam<BadCase> {};

TEST_P(QuantityRejects, WithUpstreamMessage) {
  auto q = Quantity::Parse(GetParam().input);
  ASSERT_FALSE(q.ok()) << GetParam().input << " parsed as " << q->String();
  EXPECT_EQ(q.error().message(), GetParam().error);
}

constexpr const char* kFormat =
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
constexpr const char* kSuffix = "unable to parse quantity's suffix";

INSTANTIATE_TEST_SUITE_P(Upstream, QuantityRejects,
                         ::testing::Values(BadCase{"", kFormat}, BadCase{"abc", kFormat},
                                           BadCase{"1 Gi", kFormat}, BadCase{"1Gib", kFormat},
                                           BadCase{"1.5.5", kFormat}, BadCase{"1e", kSuffix},
                                           BadCase{"1Mii", kSuffix}, BadCase{"1KiB", kFormat},
                                           BadCase{"1mm", kSuffix}, BadCase{"eighty", kFormat}));

TEST(Quantity, ValueRoundsUp) {
  EXPECT_EQ(Quantity::Parse("100m")->Value(), 1);
  EXPECT_EQ(Quantity::Parse("1.5")->Value(), 2);
  EXPECT_EQ(Quantity::Parse("2")->Value(), 2);
  EXPECT_EQ(Quantity::Parse("1Ki")->Value(), 1024);
  EXPECT_EQ(Quantity::Parse("128Mi")->Value(), 134217728);
  EXPECT_EQ(Quantity::Parse("1e3")->Value(), 1000);
  EXPECT_EQ(Quantity::Parse("-1.5")->Value(), -1);
  EXPECT_EQ(Quantity::Parse("1e30")->Value(), INT64_MAX);
}

TEST(Quantity, MilliValueRoundsUp) {
  EXPECT_EQ(Quantity::Parse("100m")->MilliValue(), 100);
  EXPECT_EQ(Quantity::Parse("0.5")->MilliValue(), 500);
  EXPECT_EQ(Quantity::Parse("1")->MilliValue(), 1000);
  EXPECT_EQ(Quantity::Parse("0.1m")->MilliValue(), 1);
  EXPECT_EQ(Quantity::Parse("1n")->MilliValue(), 1);
  EXPECT_EQ(Quantity::Parse("1Ki")->MilliValue(), 1024000);
}

TEST(Quantity, CompareAcrossFormats) {
  EXPECT_EQ(Quantity::Parse("1000m")->Cmp(*Quantity::Parse("1")), 0);
  EXPECT_EQ(Quantity::Parse("1k")->Cmp(*Quantity::Parse("1e3")), 0);
  EXPECT_GT(Quantity::Parse("1Gi")->Cmp(*Quantity::Parse("1G")), 0);
  EXPECT_LT(Quantity::Parse("-1")->Cmp(*Quantity::Parse("0")), 0);
  EXPECT_LT(Quantity::Parse("999m")->Cmp(*Quantity::Parse("1")), 0);
  EXPECT_TRUE(*Quantity::Parse("0.5") == *Quantity::Parse("500m"));
}

TEST(Quantity, FormatsFollowTheSuffix) {
  EXPECT_EQ(Quantity::Parse("1Ki")->format(), Quantity::Format::kBinarySI);
  EXPECT_EQ(Quantity::Parse("1k")->format(), Quantity::Format::kDecimalSI);
  EXPECT_EQ(Quantity::Parse("1")->format(), Quantity::Format::kDecimalSI);
  EXPECT_EQ(Quantity::Parse("1e3")->format(), Quantity::Format::kDecimalExponent);
}

TEST(Quantity, ConstructorsPrintCanonically) {
  EXPECT_EQ(Quantity::FromInt(1024, Quantity::Format::kBinarySI).String(), "1Ki");
  EXPECT_EQ(Quantity::FromInt(1000).String(), "1k");
  EXPECT_EQ(Quantity::FromMilli(250).String(), "250m");
  EXPECT_EQ(Quantity::FromMilli(2000).String(), "2");
  EXPECT_EQ(Quantity().String(), "0");
  EXPECT_TRUE(Quantity().IsZero());
  EXPECT_EQ(Quantity::FromInt(-3).Sign(), -1);
}

}  // namespace
}  // namespace nanolet::api
