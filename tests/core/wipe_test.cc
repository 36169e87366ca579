// wipe(): the whole buffer of a string that held a secret is overwritten, not only its size.

#include "common/core/wipe.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "common/core/name_list.h"

namespace keyward {
namespace {

TEST(Wipe, OverwritesTheWholeCapacity) {
  std::string secret(100, 'k');
  secret.resize(10);  // the tail still holds key bytes past size()
  const char* buffer = secret.data();
  const std::size_t capacity = secret.capacity();
  wipe(secret);
  EXPECT_TRUE(secret.empty());
  EXPECT_EQ(secret.data(), buffer) << "the buffer was reallocated, not wiped";
  EXPECT_TRUE(std::all_of(buffer, buffer + capacity, [](char c) { return c != 'k'; }));
}

TEST(NameList, TrimsDropsEmptiesAndRepeats) {
  EXPECT_EQ(split_name_list(" gamma, delta ,,gamma\t"),
            (std::vector<std::string>{"gamma", "delta"}));
  EXPECT_TRUE(split_name_list(" , ").empty());
  EXPECT_TRUE(split_name_list("").empty());
}

}  // namespace
}  // namespace keyward
