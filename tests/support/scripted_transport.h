#pragma once
// An HttpTransport that answers from a script and records every request, for unit tests of
// code that speaks HTTP (providers, broker client, kube client edge cases).

#include <deque>
#include <functional>
#include <mutex>
#include <vector>

#include "common/core/http_transport.h"

namespace keyward::testing {

class ScriptedTransport final : public HttpTransport {
 public:
  using Handler = std::function<Result<HttpResponse>(const HttpRequest&)>;

  // Queue a fixed answer or a handler; answers are used in order, the last one repeats.
  void push(HttpResponse response) {
    std::lock_guard lock(mu_);
    script_.push_back([response = std::move(response)](const HttpRequest&) -> Result<HttpResponse> {
      return response;
    });
  }
  void push(int status, std::string body, std::string content_type = "application/json") {
    HttpResponse r;
    r.status = status;
    r.body = std::move(body);
    r.headers.emplace("Content-Type", std::move(content_type));
    push(std::move(r));
  }
  void push_error(std::string reason, std::string message) {
    std::lock_guard lock(mu_);
    script_.push_back([reason = std::move(reason),
                       message = std::move(message)](const HttpRequest&) -> Result<HttpResponse> {
      return fail(reason, message);
    });
  }
  void push_handler(Handler h) {
    std::lock_guard lock(mu_);
    script_.push_back(std::move(h));
  }

  Result<HttpResponse> send(const HttpRequest& request) override {
    Handler h;
    {
      std::lock_guard lock(mu_);
      requests_.push_back(request);
      if (script_.empty()) return fail("Unreachable", "scripted transport has no answer left");
      h = script_.front();
      if (script_.size() > 1) script_.pop_front();
    }
    return h(request);
  }

  Result<HttpResponse> stream(const HttpRequest& request,
                              const std::function<bool(std::string_view)>& on_chunk,
                              std::stop_token /*stop*/) override {
    auto r = send(request);
    if (!r) return r;
    if (r->status >= 200 && r->status < 300) {
      on_chunk(r->body);
      r->body.clear();
    }
    return r;
  }

  [[nodiscard]] std::vector<HttpRequest> requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }

 private:
  mutable std::mutex mu_;  // guards script_ and requests_
  std::deque<Handler> script_;
  std::vector<HttpRequest> requests_;
};

}  // namespace keyward::testing
