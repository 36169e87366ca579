#include "operator/webhook/key_facts.h"

#include "common/kube/object_meta.h"

namespace keyward::webhook {
namespace {

using nlohmann::json;

std::string where(const KeyFacts& f, const std::string& field) {
  return "ApiKey " + f.ns + "/" + f.name + " field " + field;
}

}  // namespace

Result<KeyFacts> key_facts_from_apikey(const json& apikey) {
  KeyFacts f;
  if (!apikey.is_object()) return fail("InvalidApiKey", "ApiKey is not a JSON object");
  if (const json* n = kube::find_path(apikey, "/metadata/name"); n && n->is_string()) f.name = *n;
  if (const json* n = kube::find_path(apikey, "/metadata/namespace"); n && n->is_string())
    f.ns = *n;

  if (const json* a = kube::find_path(apikey, "/spec/active")) {
    if (!a->is_boolean())
      return fail("InvalidApiKey", where(f, "spec.active") + " is not a boolean");
    f.active = a->get<bool>();
  }
  if (const json* e = kube::find_path(apikey, "/spec/environment")) {
    if (!e->is_string())
      return fail("InvalidApiKey", where(f, "spec.environment") + " is not a string");
    f.live = e->get<std::string>() == "live";
  }
  if (const json* w = kube::find_path(apikey, "/spec/consumers/workloadRef")) {
    const json* kind = kube::find_path(*w, "/kind");
    const json* name = kube::find_path(*w, "/name");
    if (!kind || !kind->is_string() || !name || !name->is_string()) {
      return fail("InvalidApiKey",
                  where(f, "spec.consumers.workloadRef") + " needs string kind and name");
    }
    f.workload = WorkloadRef{kind->get<std::string>(), name->get<std::string>()};
  }
  if (const json* s = kube::find_path(apikey, "/spec/source"); s && s->is_object()) {
    f.source = *s;
    for (const char* k : {"generate", "secretRef", "http"}) {
      if (s->contains(k)) f.source_kind = k;
    }
  }
  if (const json* t = kube::find_path(apikey, "/spec/tokenExchange"); t && t->is_object()) {
    auto str = [&](const char* key, std::string& out) -> Status {
      if (const json* v = kube::find_path(*t, "/" + std::string(key))) {
        if (!v->is_string())
          return fail("InvalidApiKey",
                      where(f, std::string("spec.tokenExchange.") + key) + " is not a string");
        out = *v;
      }
      return ok();
    };
    auto num = [&](const char* key, std::optional<std::int64_t>& out) -> Status {
      if (const json* v = kube::find_path(*t, "/" + std::string(key))) {
        if (!v->is_number_integer())
          return fail("InvalidApiKey",
                      where(f, std::string("spec.tokenExchange.") + key) + " is not an integer");
        out = v->get<std::int64_t>();
      }
      return ok();
    };
    if (auto s = str("provider", f.provider); !s) return fail(s.error());
    if (auto s = str("endpoint", f.endpoint); !s) return fail(s.error());
    if (auto s = str("caBundle", f.ca_bundle); !s) return fail(s.error());
    if (auto s = str("tokenFile", f.token_file); !s) return fail(s.error());
    if (auto s = str("envVarName", f.env_var_name); !s) return fail(s.error());
    if (auto s = num("lifetimeSeconds", f.lifetime_seconds); !s) return fail(s.error());
    if (auto s = num("refreshLeadSeconds", f.refresh_lead_seconds); !s) return fail(s.error());
    if (const json* c = kube::find_path(*t, "/credentialsSecretRef/name"); c && c->is_string()) {
      f.credentials_secret = *c;
    }
  }
  return f;
}

}  // namespace keyward::webhook
