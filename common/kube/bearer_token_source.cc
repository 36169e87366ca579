#include "common/kube/bearer_token_source.h"

#include <cctype>

namespace keyward::kube {

namespace {
std::string trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  std::size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}
}  // namespace

std::unique_ptr<BearerTokenSource> BearerTokenSource::fixed(std::string token, Logger logger) {
  token = trim(std::move(token));
  logger.redactor().add(token);
  return std::unique_ptr<BearerTokenSource>(
      new BearerTokenSource(std::move(token), "", nullptr, nullptr, std::move(logger), Seconds(0)));
}

Result<std::unique_ptr<BearerTokenSource>> BearerTokenSource::from_file(
    std::string path, const Filesystem& fs, const Clock& clock, Logger logger, Seconds recheck) {
  auto content = fs.read_file(path);
  if (!content) {
    return fail("TokenUnreadable", "cannot read the bearer token file " + path + " (" +
                                       content.error().message + "); check the mount");
  }
  std::string token = trim(std::move(*content));
  logger.redactor().add(token);
  if (token.empty()) {
    return fail("TokenUnreadable", "the bearer token file " + path + " is empty");
  }
  auto source = std::unique_ptr<BearerTokenSource>(new BearerTokenSource(
      std::move(token), std::move(path), &fs, &clock, std::move(logger), recheck));
  source->last_check_ = clock.now();
  return source;
}

BearerTokenSource::BearerTokenSource(std::string token, std::string path, const Filesystem* fs,
                                     const Clock* clock, Logger logger, Seconds recheck)
    : path_(std::move(path)),
      fs_(fs),
      clock_(clock),
      logger_(std::move(logger)),
      recheck_(recheck),
      token_(std::move(token)) {}

std::string BearerTokenSource::token() {
  std::lock_guard lock(mu_);
  if (fs_ != nullptr && clock_->now() - last_check_ >= recheck_) reload_locked();
  return token_;
}

bool BearerTokenSource::reload() {
  if (fs_ == nullptr) return false;
  std::lock_guard lock(mu_);
  return reload_locked();
}

bool BearerTokenSource::reload_locked() {
  last_check_ = clock_->now();
  auto content = fs_->read_file(path_);
  if (!content) {
    logger_.warn("cannot re-read the bearer token file; keeping the previous token",
                 {{"path", path_}, {"error", content.error().message}});
    return false;
  }
  std::string token = trim(std::move(*content));
  logger_.redactor().add(token);
  if (token.empty()) {
    logger_.warn("the bearer token file is empty; keeping the previous token", {{"path", path_}});
    return false;
  }
  if (token == token_) return false;
  token_ = std::move(token);
  logger_.info("bearer token rotated", {{"path", path_}});
  return true;
}

}  // namespace keyward::kube
