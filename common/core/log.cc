#include "common/core/log.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>

#include "common/core/clock.h"

namespace keyward {

std::string_view to_string(LogLevel level) {
  switch (level) {
    case LogLevel::Debug:
      return "debug";
    case LogLevel::Info:
      return "info";
    case LogLevel::Warn:
      return "warn";
    case LogLevel::Error:
      return "error";
  }
  return "info";
}

bool parse_log_level(std::string_view text, LogLevel& out) {
  for (LogLevel l : {LogLevel::Debug, LogLevel::Info, LogLevel::Warn, LogLevel::Error}) {
    if (text == to_string(l)) {
      out = l;
      return true;
    }
  }
  return false;
}

void Redactor::add(std::string_view secret) {
  if (secret.size() < kMinSecretLength) return;
  std::lock_guard lock(mu_);
  secrets_.emplace(secret);
  // Also hide the JSON-escaped form, which is what appears inside a serialized log line.
  std::string escaped = nlohmann::json(std::string(secret)).dump();
  escaped = escaped.substr(1, escaped.size() - 2);
  if (escaped != secret) secrets_.emplace(std::move(escaped));
}

void Redactor::remove(std::string_view secret) {
  std::lock_guard lock(mu_);
  if (auto it = secrets_.find(secret); it != secrets_.end()) secrets_.erase(it);
}

std::size_t Redactor::size() const {
  std::lock_guard lock(mu_);
  return secrets_.size();
}

std::string Redactor::redact(std::string_view text) const {
  std::string out(text);
  std::lock_guard lock(mu_);
  // Longest first, so a secret containing another is replaced whole.
  std::vector<const std::string*> order;
  order.reserve(secrets_.size());
  for (const auto& s : secrets_) order.push_back(&s);
  std::sort(order.begin(), order.end(),
            [](const std::string* a, const std::string* b) { return a->size() > b->size(); });
  for (const std::string* s : order) {
    std::size_t pos = 0;
    while ((pos = out.find(*s, pos)) != std::string::npos) {
      out.replace(pos, s->size(), "[REDACTED]");
      pos += 10;
    }
  }
  return out;
}

void StderrSink::write(std::string_view line) {
  std::string buf(line);
  buf.push_back('\n');
  std::lock_guard lock(mu_);
  std::size_t done = 0;
  while (done < buf.size()) {
    const ssize_t n = ::write(STDERR_FILENO, buf.data() + done, buf.size() - done);
    if (n <= 0) return;  // nowhere to report a failure to log
    done += static_cast<std::size_t>(n);
  }
}

void MemorySink::write(std::string_view line) {
  std::lock_guard lock(mu_);
  lines_.emplace_back(line);
}

std::vector<std::string> MemorySink::lines() const {
  std::lock_guard lock(mu_);
  return lines_;
}

std::string MemorySink::joined() const {
  std::lock_guard lock(mu_);
  std::string out;
  for (const auto& l : lines_) {
    out += l;
    out += '\n';
  }
  return out;
}

Logger::Logger(std::string component, std::shared_ptr<LogSink> sink,
               std::shared_ptr<Redactor> redactor, LogLevel min_level, const Clock* clock)
    : component_(std::move(component)),
      sink_(std::move(sink)),
      redactor_(std::move(redactor)),
      min_level_(min_level),
      clock_(clock) {
  if (!redactor_) redactor_ = std::make_shared<Redactor>();
}

Logger Logger::child(std::string component) const {
  return Logger(std::move(component), sink_, redactor_, min_level_, clock_);
}

void Logger::log(LogLevel level, std::string_view message, const nlohmann::json& fields) const {
  if (!sink_ || level < min_level_) return;
  const SystemTime t = clock_ ? clock_->now() : std::chrono::system_clock::now();
  nlohmann::ordered_json line;
  line["time"] = format_rfc3339(t);
  line["level"] = to_string(level);
  line["component"] = component_;
  line["message"] = std::string(message);
  if (fields.is_object()) {
    for (const auto& [k, v] : fields.items()) line[k] = v;
  } else if (!fields.is_null()) {
    line["fields"] = fields;
  }
  sink_->write(
      redactor_->redact(line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)));
}

Logger make_stderr_logger(std::string component, LogLevel min_level) {
  return Logger(std::move(component), std::make_shared<StderrSink>(), std::make_shared<Redactor>(),
                min_level);
}

Logger make_null_logger() { return Logger("null", nullptr, std::make_shared<Redactor>()); }

}  // namespace keyward
