#include "common/kube/watcher.h"

namespace keyward::kube {

namespace {
bool is_gone(const Error& e) { return e.http_status == 410; }
}  // namespace

std::string_view to_string(Watcher::State state) {
  switch (state) {
    case Watcher::State::Empty:
      return "Empty";
    case Watcher::State::InitListing:
      return "InitListing";
    case Watcher::State::InitialWatch:
      return "InitialWatch";
    case Watcher::State::Watching:
      return "Watching";
  }
  return "Unknown";
}

Watcher::Watcher(KubeApi& api, ResourceType type, std::string ns, WatcherOptions options,
                 Logger logger)
    : api_(api),
      type_(std::move(type)),
      ns_(std::move(ns)),
      options_(std::move(options)),
      logger_(std::move(logger)) {}

Status Watcher::step(const std::function<void(const WatcherEvent&)>& emit, std::stop_token stop) {
  switch (state_) {
    case State::Empty:
      continue_token_.clear();
      listed_.clear();
      resource_version_.clear();
      state_ = State::InitListing;
      return list_page(emit);
    case State::InitListing:
      return list_page(emit);
    case State::InitialWatch:
    case State::Watching:
      return watch_once(emit, std::move(stop));
  }
  return ok();
}

Status Watcher::list_page(const std::function<void(const WatcherEvent&)>& emit) {
  ListOptions options;
  options.label_selector = options_.label_selector;
  options.field_selector = options_.field_selector;
  options.limit = options_.page_size;
  options.continue_token = continue_token_;
  auto page = api_.list(type_, ns_, options);
  if (!page) {
    if (is_gone(page.error())) {
      // The continue token expired between pages: start the list over.
      logger_.info("list continue token expired; relisting", {{"resource", type_.plural}});
      state_ = State::Empty;
    }
    return fail(page.error());
  }
  for (auto& item : page->items) listed_.push_back(std::move(item));
  if (!page->continue_token.empty()) {
    continue_token_ = page->continue_token;
    return ok();
  }
  resource_version_ = page->resource_version;
  continue_token_.clear();
  WatcherEvent restarted;
  restarted.type = WatcherEvent::Type::Restarted;
  restarted.objects = std::move(listed_);
  listed_.clear();
  state_ = State::InitialWatch;
  logger_.debug("listed", {{"resource", type_.plural},
                           {"objects", restarted.objects.size()},
                           {"resourceVersion", resource_version_}});
  emit(restarted);
  return ok();
}

Status Watcher::watch_once(const std::function<void(const WatcherEvent&)>& emit,
                           std::stop_token stop) {
  ListOptions options;
  options.label_selector = options_.label_selector;
  options.field_selector = options_.field_selector;
  options.resource_version = resource_version_;
  options.timeout_seconds = options_.timeout_seconds;
  options.allow_bookmarks = true;
  std::optional<Error> event_error;
  auto status = api_.watch(
      type_, ns_, options,
      [&](const WatchEvent& event) {
        switch (event.type) {
          case WatchEventType::Added:
          case WatchEventType::Modified:
          case WatchEventType::Deleted: {
            if (const std::string rv = resource_version_of(event.object); !rv.empty()) {
              resource_version_ = rv;
            }
            WatcherEvent out;
            out.type = event.type == WatchEventType::Deleted ? WatcherEvent::Type::Deleted
                                                             : WatcherEvent::Type::Applied;
            out.object = event.object;
            emit(out);
            return true;
          }
          case WatchEventType::Bookmark:
            if (const std::string rv = resource_version_of(event.object); !rv.empty()) {
              resource_version_ = rv;
            }
            return true;
          case WatchEventType::Error: {
            const int code = event.object.value("code", 0);
            event_error =
                Error{event.object.value("reason", code == 410 ? "Expired" : "WatchError"),
                      "watch " + type_.plural + ": " +
                          event.object.value("message", "the server sent an ERROR event"),
                      code};
            return false;
          }
        }
        return true;
      },
      std::move(stop));
  if (!status) event_error = status.error();
  if (event_error) {
    if (is_gone(*event_error)) {
      logger_.info("watch resourceVersion is gone; relisting",
                   {{"resource", type_.plural}, {"resourceVersion", resource_version_}});
      state_ = State::Empty;
    }
    return fail(*event_error);
  }
  state_ = State::Watching;  // the stream ended normally: resume from resource_version_
  return ok();
}

}  // namespace keyward::kube
