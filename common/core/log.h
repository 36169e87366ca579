#pragma once
// Structured logs: one JSON object per line with time, level, component, message and fields
// (by convention "object" names the Kubernetes object, "namespace/name").
// Every line passes through a Redactor that replaces each registered secret value (and its
// JSON-escaped form) with "[REDACTED]". Register a secret the moment it is read.

#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace keyward {

class Clock;

enum class LogLevel { Debug = 0, Info = 1, Warn = 2, Error = 3 };

std::string_view to_string(LogLevel level);
bool parse_log_level(std::string_view text, LogLevel& out);

// Knows the secret values this process holds and scrubs them from any text.
class Redactor {
 public:
  static constexpr std::size_t kMinSecretLength = 4;  // shorter values are not secrets worth hiding
  void add(std::string_view secret);
  void remove(std::string_view secret);
  [[nodiscard]] std::string redact(std::string_view text) const;
  [[nodiscard]] std::size_t size() const;

 private:
  mutable std::mutex mu_;  // guards secrets_
  std::set<std::string, std::less<>> secrets_;
};

class LogSink {
 public:
  LogSink() = default;
  LogSink(const LogSink&) = delete;
  LogSink& operator=(const LogSink&) = delete;
  virtual ~LogSink() = default;
  virtual void write(std::string_view line) = 0;  // one complete line, without the newline
};

// Writes lines to stderr, one write per line.
class StderrSink final : public LogSink {
 public:
  void write(std::string_view line) override;

 private:
  std::mutex mu_;  // guards the stderr stream so lines never interleave
};

// Keeps lines in memory (tests and the demo grep them).
class MemorySink final : public LogSink {
 public:
  void write(std::string_view line) override;
  [[nodiscard]] std::vector<std::string> lines() const;
  [[nodiscard]] std::string joined() const;

 private:
  mutable std::mutex mu_;  // guards lines_
  std::vector<std::string> lines_;
};

class Logger {
 public:
  Logger(std::string component, std::shared_ptr<LogSink> sink, std::shared_ptr<Redactor> redactor,
         LogLevel min_level = LogLevel::Info, const Clock* clock = nullptr);

  // A logger for a sub-component sharing the sink, redactor and level.
  [[nodiscard]] Logger child(std::string component) const;

  void log(LogLevel level, std::string_view message, const nlohmann::json& fields = {}) const;
  void debug(std::string_view message, const nlohmann::json& fields = {}) const {
    log(LogLevel::Debug, message, fields);
  }
  void info(std::string_view message, const nlohmann::json& fields = {}) const {
    log(LogLevel::Info, message, fields);
  }
  void warn(std::string_view message, const nlohmann::json& fields = {}) const {
    log(LogLevel::Warn, message, fields);
  }
  void error(std::string_view message, const nlohmann::json& fields = {}) const {
    log(LogLevel::Error, message, fields);
  }

  [[nodiscard]] Redactor& redactor() const { return *redactor_; }
  [[nodiscard]] const std::shared_ptr<Redactor>& redactor_ptr() const { return redactor_; }
  [[nodiscard]] const std::string& component() const { return component_; }
  [[nodiscard]] bool enabled(LogLevel level) const { return level >= min_level_; }

 private:
  std::string component_;
  std::shared_ptr<LogSink> sink_;
  std::shared_ptr<Redactor> redactor_;
  LogLevel min_level_;
  const Clock* clock_;  // not owned; null means the system clock
};

// A logger that writes to stderr with a fresh redactor: for main() and simple tools.
Logger make_stderr_logger(std::string component, LogLevel min_level = LogLevel::Info);

// A logger that drops everything (for tests that do not look at logs).
Logger make_null_logger();

}  // namespace keyward
