#pragma once
// Small helpers for tests that run the real programs: read and write whole files, and wait
// (bounded, real time) for a condition another process makes true.

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

namespace keyward::testing {

// The whole file, or "" when it cannot be read.
inline std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Replaces the file's content; false when it cannot be written.
inline bool write(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  return static_cast<bool>(out);
}

// Polls pred every 50 ms until it holds or `limit` passes; returns its last answer. A poll
// interval, not a sync point: what is waited for is the condition itself.
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = std::chrono::seconds(30)) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return pred();
}

}  // namespace keyward::testing
