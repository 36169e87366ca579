#include "operator/apikey/conditions.h"

#include <algorithm>

namespace keyward::apikey {

bool set_condition(std::vector<Condition>& conditions, Condition condition, SystemTime now) {
  auto it = std::find_if(conditions.begin(), conditions.end(),
                         [&](const Condition& c) { return c.type == condition.type; });
  if (it == conditions.end()) {
    condition.last_transition_time = now;
    conditions.push_back(std::move(condition));
    return true;
  }
  condition.last_transition_time = it->status == condition.status ? it->last_transition_time : now;
  if (*it == condition) return false;
  *it = std::move(condition);
  return true;
}

bool remove_condition(std::vector<Condition>& conditions, std::string_view type) {
  const auto removed =
      std::erase_if(conditions, [&](const Condition& c) { return c.type == type; });
  return removed > 0;
}

const Condition* find_condition(const std::vector<Condition>& conditions, std::string_view type) {
  auto it = std::find_if(conditions.begin(), conditions.end(),
                         [&](const Condition& c) { return c.type == type; });
  return it == conditions.end() ? nullptr : &*it;
}

bool is_condition_true(const std::vector<Condition>& conditions, std::string_view type) {
  const Condition* c = find_condition(conditions, type);
  return c != nullptr && c->status == condition_status::kTrue;
}

nlohmann::json to_json(const Condition& condition) {
  return nlohmann::json{{"type", condition.type},
                        {"status", condition.status},
                        {"reason", condition.reason},
                        {"message", condition.message},
                        {"lastTransitionTime", format_rfc3339(condition.last_transition_time)},
                        {"observedGeneration", condition.observed_generation}};
}

Result<Condition> condition_from_json(const nlohmann::json& json) {
  if (!json.is_object()) return fail("InvalidStatus", "status.conditions[]: expected an object");
  Condition c;
  auto read_string = [&](const char* field, std::string& out, bool required) -> Status {
    auto it = json.find(field);
    if (it == json.end() || it->is_null()) {
      if (required) {
        return fail("InvalidStatus",
                    std::string("status.conditions[]: missing field \"") + field + "\"");
      }
      return ok();
    }
    if (!it->is_string()) {
      return fail("InvalidStatus",
                  std::string("status.conditions[].") + field + ": expected a string");
    }
    out = it->get<std::string>();
    return ok();
  };
  if (auto s = read_string("type", c.type, true); !s) return fail(s.error());
  if (auto s = read_string("status", c.status, true); !s) return fail(s.error());
  if (auto s = read_string("reason", c.reason, false); !s) return fail(s.error());
  if (auto s = read_string("message", c.message, false); !s) return fail(s.error());
  std::string ltt;
  if (auto s = read_string("lastTransitionTime", ltt, false); !s) return fail(s.error());
  if (!ltt.empty()) {
    auto t = parse_rfc3339(ltt);
    if (!t) {
      return fail("InvalidStatus", "status.conditions[" + c.type + "].lastTransitionTime: \"" +
                                       ltt + "\" is not RFC 3339");
    }
    c.last_transition_time = *t;
  }
  if (auto it = json.find("observedGeneration"); it != json.end() && !it->is_null()) {
    if (!it->is_number_integer()) {
      return fail("InvalidStatus",
                  "status.conditions[" + c.type + "].observedGeneration: expected an integer");
    }
    c.observed_generation = it->get<std::int64_t>();
  }
  return c;
}

}  // namespace keyward::apikey
