#pragma once
// core/v1 Events about Keyward's objects. Repeated identical events (same object, type, reason
// and message) are aggregated the way client-go's EventCorrelator does: the first is created,
// the following ones patch `count` and `lastTimestamp` of that same Event instead of creating
// new objects. Messages are for people and never carry key material; callers pass text built
// from names and versions only, and the recorder scrubs it through the Redactor anyway.

#include <map>
#include <mutex>
#include <string>
#include <tuple>

#include "common/core/clock.h"
#include "common/core/log.h"
#include "common/core/result.h"
#include "common/kube/kube_api.h"

namespace keyward::controller {

enum class EventType { Normal, Warning };

class EventRecorder {
 public:
  EventRecorder(kube::KubeApi& api, const Clock& clock, Logger logger,
                std::string component = "keyward-operator");

  // Records (or aggregates) an event about `involved` (any object with apiVersion, kind and
  // metadata). Failures are logged and returned; callers usually ignore them, as events are
  // best effort.
  Status record(const kube::Object& involved, EventType type, const std::string& reason,
                const std::string& message);

 private:
  struct Seen {
    std::string event_name;
    int count = 0;
  };
  // (namespace, object uid or name, type, reason, message)
  using Key = std::tuple<std::string, std::string, std::string, std::string, std::string>;

  Status create_event(const kube::Object& involved, const Key& key, const std::string& type,
                      const std::string& reason, const std::string& message);

  kube::KubeApi& api_;
  const Clock& clock_;
  Logger logger_;
  std::string component_;
  std::mutex mu_;  // guards seen_ and sequence_
  std::map<Key, Seen> seen_;
  unsigned long sequence_ = 0;
};

}  // namespace keyward::controller
