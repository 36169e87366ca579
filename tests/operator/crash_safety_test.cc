// A crash between any two steps of a rotation neither loses a new key nor rotates twice.
// Each test runs a reconciler that "crashes" (stops with Interrupted and is dropped) right
// before one step's write, then a fresh reconciler finishes the job.

#include <gtest/gtest.h>

#include "common/kube/object_meta.h"
#include "operator/controller/apikey_reconciler.h"
#include "tests/operator/operator_fixture.h"

namespace keyward::testing {
namespace {

using std::chrono::hours;

constexpr const char* kSeed = "pk_seed_key_000000000000";

class CrashBetweenStepsTest : public OperatorTest,
                              public ::testing::WithParamInterface<std::string> {
 protected:
  void SetUp() override {
    provider = std::make_unique<IdempotentProvider>(kSeed);
    put(make_apikey("alpha", {{"source",
                               {{"generate", nullptr},
                                {"http", {{"url", "https://provider.example/regenerate"}}}}},
                              {"rotation", {{"intervalSeconds", 3600}}}}));
    put(Json{{"apiVersion", "v1"},
             {"kind", "Secret"},
             {"metadata", {{"name", "keyward-alpha"}, {"namespace", "bots"}}},
             {"data", {{"apiKey", keyward::base64_encode(kSeed)}}}});
    auto first = make_reconciler();
    settle(*first);
    ASSERT_EQ(key_version(), 1);
    clock.advance(hours(1));
  }
};

TEST_P(CrashBetweenStepsTest, HttpRotationCompletesExactlyOnceAfterACrash) {
  const std::string crash_at = GetParam();
  bool crashed = false;
  {
    auto doomed = make_reconciler([&](std::string_view step) {
      if (step == crash_at && !crashed) {
        crashed = true;
        return false;
      }
      return true;
    });
    auto result = reconcile(*doomed);
    ASSERT_TRUE(crashed) << "step " << crash_at << " was never reached";
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().reason, "Interrupted");
  }  // the crashed reconciler is gone, with whatever it held in memory

  auto fresh = make_reconciler();
  settle(*fresh);
  EXPECT_EQ(key_version(), 2) << "crash at " << crash_at;
  EXPECT_EQ(provider->issued(), 1) << "the provider regenerated twice";
  EXPECT_EQ(secret_field("apiKey"), provider->valid_key()) << "the new key was lost";
  EXPECT_EQ(secret_field("previousApiKey"), kSeed);
  EXPECT_FALSE(kube::has_annotation(*secret(), apikey::annotation::kRotationNonce));
  EXPECT_EQ(apikey()["status"]["keyVersion"], 2);
  EXPECT_EQ(condition("Ready")["status"], "True");
  EXPECT_EQ(condition("Rotating")["status"], "False");

  // And nothing more happens until the next rotation is due.
  settle(*fresh);
  EXPECT_EQ(key_version(), 2);
  EXPECT_EQ(provider->issued(), 1);
  const std::string seen = observable_text();
  EXPECT_EQ(seen.find(provider->valid_key()), std::string::npos);
  EXPECT_EQ(seen.find(kSeed), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(EveryStep, CrashBetweenStepsTest,
                         ::testing::Values("persist-nonce", "call-provider", "store-key",
                                           "restart-consumers", "write-status"),
                         [](const ::testing::TestParamInfo<std::string>& param_info) {
                           std::string name = param_info.param;
                           for (auto& c : name) c = c == '-' ? '_' : c;
                           return name;
                         });

TEST_F(OperatorTest, HttpRotationConflictOnStoreRetriesWithTheSameKey) {
  provider = std::make_unique<IdempotentProvider>(kSeed);
  put(make_apikey("alpha", {{"source",
                             {{"generate", nullptr},
                              {"http", {{"url", "https://provider.example/regenerate"}}}}},
                            {"rotation", {{"intervalSeconds", 3600}}}}));
  put(Json{{"apiVersion", "v1"},
           {"kind", "Secret"},
           {"metadata", {{"name", "keyward-alpha"}, {"namespace", "bots"}}},
           {"data", {{"apiKey", keyward::base64_encode(kSeed)}}}});
  int conflicts = 0;
  auto r = make_reconciler([&](std::string_view step) {
    // Someone else writes the Secret between our provider call and our store, twice.
    if (step == controller::step::kStoreKey && conflicts < 2) {
      ++conflicts;
      server->fail_next(1, 409, "PUT", "/secrets/keyward-alpha");
    }
    return true;
  });
  settle(*r);
  clock.advance(hours(1));
  settle(*r);
  EXPECT_EQ(key_version(), 2);
  EXPECT_EQ(conflicts, 2);
  EXPECT_EQ(provider->issued(), 1);
  EXPECT_EQ(provider->calls(), 1);  // stored after re-reading, without asking the provider again
  EXPECT_EQ(secret_field("apiKey"), provider->valid_key());
}

TEST_F(OperatorTest, ProviderFailureKeepsTheNonceAndRetriesWithIt) {
  provider = std::make_unique<IdempotentProvider>(kSeed);
  put(make_apikey("alpha", {{"source",
                             {{"generate", nullptr},
                              {"http", {{"url", "https://provider.example/regenerate"}}}}},
                            {"rotation", {{"intervalSeconds", 3600}}}}));
  put(Json{{"apiVersion", "v1"},
           {"kind", "Secret"},
           {"metadata", {{"name", "keyward-alpha"}, {"namespace", "bots"}}},
           {"data", {{"apiKey", keyward::base64_encode(kSeed)}}}});
  bool provider_down = false;
  controller::ReconcilerDeps deps{api, clock, logger, events, generator, {}, &metrics, {}};
  deps.http_transports = [&](const std::string&,
                             const std::string&) -> Result<std::unique_ptr<HttpTransport>> {
    if (provider_down) return std::make_unique<ScriptedTransport>();  // answers Unreachable
    return std::make_unique<ForwardingTransport>(*provider);
  };
  controller::ApiKeyReconciler r(deps);
  settle(r);
  clock.advance(hours(1));
  provider_down = true;
  settle(r);
  EXPECT_EQ(key_version(), 1);
  EXPECT_TRUE(kube::has_annotation(*secret(), apikey::annotation::kRotationNonce));
  EXPECT_EQ(condition("Rotating")["reason"], "RotationPending");
  EXPECT_EQ(condition("Degraded")["reason"], "KeySourceUnreachable");
  provider_down = false;
  settle(r);
  EXPECT_EQ(key_version(), 2);
  EXPECT_EQ(provider->issued(), 1);
  EXPECT_EQ(condition("Degraded")["status"], "False");
}

TEST_F(OperatorTest, GeneratedRotationCrashBeforeStoreRotatesOnceAfterRestart) {
  put(make_apikey("alpha", {{"rotation", {{"intervalSeconds", 3600}}}}));
  {
    auto r = make_reconciler();
    settle(*r);
  }
  clock.advance(hours(1));
  {
    auto doomed =
        make_reconciler([](std::string_view step) { return step != controller::step::kStoreKey; });
    auto result = reconcile(*doomed);
    ASSERT_FALSE(result);
  }
  EXPECT_EQ(key_version(), 1);  // the key generated in memory was never delivered anywhere
  {
    auto doomed = make_reconciler(
        [](std::string_view step) { return step != controller::step::kWriteStatus; });
    ASSERT_FALSE(reconcile(*doomed));
  }
  EXPECT_EQ(key_version(), 2);
  EXPECT_EQ(apikey()["status"]["keyVersion"], 1);  // status lags; the Secret is the truth
  auto fresh = make_reconciler();
  settle(*fresh);
  EXPECT_EQ(key_version(), 2);
  EXPECT_EQ(apikey()["status"]["keyVersion"], 2);
  EXPECT_EQ(secret_field("apiKey"), generator.issued().back());
}

}  // namespace
}  // namespace keyward::testing
