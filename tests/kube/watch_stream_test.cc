#include "common/kube/watch_stream.h"

#include <gtest/gtest.h>

#include <vector>

namespace keyward::kube {
namespace {

std::vector<std::string> split_all(const std::vector<std::string>& chunks, LineSplitter& s) {
  std::vector<std::string> lines;
  for (const auto& c : chunks) {
    auto r = s.feed(c, [&](std::string_view line) {
      lines.emplace_back(line);
      return true;
    });
    EXPECT_TRUE(r.has_value());
  }
  return lines;
}

TEST(LineSplitter, ReassemblesLinesAcrossEveryPossibleSplit) {
  const std::string stream = "{\"a\":1}\n{\"b\":2}\r\n\n{\"c\":3}\n";
  for (std::size_t i = 0; i <= stream.size(); ++i) {
    for (std::size_t j = i; j <= stream.size(); ++j) {
      LineSplitter s;
      auto lines = split_all({stream.substr(0, i), stream.substr(i, j - i), stream.substr(j)}, s);
      ASSERT_EQ(lines, (std::vector<std::string>{"{\"a\":1}", "{\"b\":2}", "{\"c\":3}"}))
          << i << "," << j;
      EXPECT_EQ(s.pending(), 0u);
    }
  }
}

TEST(LineSplitter, HoldsAnIncompleteTail) {
  LineSplitter s;
  auto lines = split_all({"{\"a\":1}\n{\"b\""}, s);
  EXPECT_EQ(lines.size(), 1u);
  EXPECT_EQ(s.pending(), 4u);
}

TEST(LineSplitter, StopsWhenTheCallbackSaysSo) {
  LineSplitter s;
  int n = 0;
  auto r = s.feed("1\n2\n3\n", [&](std::string_view) { return ++n < 2; });
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, LineSplitter::Outcome::Stopped);
  EXPECT_EQ(n, 2);
}

TEST(LineSplitter, RefusesAnEndlessLine) {
  LineSplitter s(10);
  auto r = s.feed("0123456789abc", [](std::string_view) { return true; });
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().reason, "InvalidResponse");
}

TEST(ParseWatchEvent, DecodesTypesAndRejectsGarbage) {
  auto e = parse_watch_event(R"({"type":"MODIFIED","object":{"metadata":{"name":"x"}}})");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->type, WatchEventType::Modified);
  EXPECT_EQ(e->object["metadata"]["name"], "x");
  auto b =
      parse_watch_event(R"({"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"9"}}})");
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->type, WatchEventType::Bookmark);
  auto err = parse_watch_event(R"({"type":"ERROR","object":{"kind":"Status","code":410}})");
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(err->type, WatchEventType::Error);
  EXPECT_FALSE(parse_watch_event("<html>").has_value());
  EXPECT_FALSE(parse_watch_event(R"({"type":"WHATEVER","object":{}})").has_value());
  EXPECT_FALSE(parse_watch_event(R"({"type":"ADDED"})").has_value());
}

}  // namespace
}  // namespace keyward::kube
