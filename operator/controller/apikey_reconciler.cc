#include "operator/controller/apikey_reconciler.h"

#include <algorithm>
#include <utility>

#include "common/kube/object_meta.h"
#include "operator/apikey/conditions.h"
#include "operator/apikey/key_hint.h"
#include "operator/apikey/key_source.h"
#include "operator/apikey/names.h"
#include "operator/apikey/rotation_planner.h"
#include "operator/controller/finalizer.h"

namespace keyward::controller {
namespace {

namespace ct = apikey::condition_type;
namespace cs = apikey::condition_status;
namespace rs = apikey::reason;

std::string s(std::string_view v) { return std::string(v); }

// One condition as the status lists it (lastTransitionTime is set_condition's business).
apikey::Condition condition(std::string_view type, bool status, std::string reason,
                            std::string message, std::int64_t generation) {
  return {
      s(type),   status ? s(cs::kTrue) : s(cs::kFalse), std::move(reason), std::move(message), {},
      generation};
}

std::optional<kube::ResourceType> workload_type(apikey::WorkloadKind kind) {
  switch (kind) {
    case apikey::WorkloadKind::Deployment:
      return kube::ResourceType::deployments();
    case apikey::WorkloadKind::StatefulSet:
      return kube::ResourceType::statefulsets();
    case apikey::WorkloadKind::DaemonSet:
      return kube::ResourceType::daemonsets();
    case apikey::WorkloadKind::Pod:
      return kube::ResourceType::pods();
  }
  return std::nullopt;
}

void earliest(std::optional<SystemTime>& slot, std::optional<SystemTime> t) {
  if (t && (!slot || *t < *slot)) slot = t;
}

}  // namespace

// Everything one reconcile pass knows; discarded at the end of the pass.
// A rotation asked for with keyward.dev/rotate (this pass only).
struct ForcedRotation {
  std::string request;       // the annotation's value
  std::string requested_by;  // keyward.dev/rotate-requested-by
  bool end_grace = false;    // keyward.dev/rotate-end-grace: "true"
};

struct ApiKeyReconciler::Pass {
  kube::Object object;  // the ApiKey; replaced by the server's answer after each write to it
  apikey::ObjectMeta meta;
  std::string key;  // "namespace/name"
  SystemTime now;
  std::optional<apikey::ApiKeySpec> spec;
  apikey::ApiKeyStatus status_in;
  apikey::ApiKeyStatus desired;
  std::optional<apikey::RotationPlanner> planner;
  std::optional<apikey::KeySecret> secret;
  std::optional<SystemTime> next_rotation;
  std::optional<Error> degraded;  // the first problem that needs a person
  bool rotation_failed = false;   // the key source failed this pass: try again on its own clock
  bool revoke_attempted = false;  // the provider's revoke endpoint was called in this pass
  std::optional<SystemTime> wake_at;
  std::optional<RestartReport> restarts;
  std::optional<ForcedRotation> forced;
};

ApiKeyReconciler::ApiKeyReconciler(ReconcilerDeps deps)
    : deps_(std::move(deps)),
      restarter_(deps_.api, deps_.pods, deps_.clock, deps_.logger.child("restarter"), deps_.events,
                 deps_.metrics) {}

apikey::KeyOwner ApiKeyReconciler::owner_of(const Pass& pass) {
  return apikey::KeyOwner{pass.meta.ns, pass.meta.name, pass.meta.uid};
}

Result<apikey::KeySecret> ApiKeyReconciler::read_secret(const Pass& pass,
                                                        const kube::Object& secret) const {
  {
    std::lock_guard lock(seen_mu_);
    seen_secret_versions_[pass.key] = kube::resource_version_of(secret);
  }
  return apikey::read_key_secret(secret, deps_.logger.redactor(), deps_.sealer, owner_of(pass));
}

Result<std::optional<apikey::KeySecret>> ApiKeyReconciler::secret_write_failed(const Pass& pass,
                                                                               Error error) {
  // A refused write (409) or one whose outcome is unknown (a timeout after it was sent): the
  // server may hold a newer Secret than any copy here, so the next pass reads the API.
  std::lock_guard lock(seen_mu_);
  seen_secret_versions_[pass.key] = kUnknownVersion;
  return fail(std::move(error));
}

void ApiKeyReconciler::distrust_cache() {
  std::lock_guard lock(seen_mu_);
  seen_secret_versions_.clear();
  trust_unseen_ = false;
}

kube::ObjectPtr ApiKeyReconciler::cached_secret(const Pass& pass, const std::string& name) const {
  if (deps_.secrets == nullptr) return nullptr;
  kube::ObjectPtr cached = deps_.secrets->get(pass.meta.ns + "/" + name);
  if (!cached) return nullptr;  // not seen yet, or gone: the API says which
  std::lock_guard lock(seen_mu_);
  const auto seen = seen_secret_versions_.find(pass.key);
  // The cache may not have caught up with what this reconciler last wrote or read (the watch
  // event of our own write can arrive after the next pass starts): then the API is asked.
  if (seen == seen_secret_versions_.end() ? !trust_unseen_
                                          : seen->second != kube::resource_version_of(*cached)) {
    return nullptr;
  }
  return cached;
}

bool ApiKeyReconciler::needs_reseal(const apikey::KeySecret& secret) const {
  if (deps_.sealer == nullptr) return false;
  auto primary = deps_.sealer->primary_id();
  if (!primary) return false;  // no KEK to seal with: what opened stays as it is
  if (secret.plaintext_fields) return true;
  for (const auto& kek : secret.sealed_with) {
    if (kek != *primary) return true;
  }
  return false;
}

Status ApiKeyReconciler::step(std::string_view name) const {
  if (deps_.step_hook && !deps_.step_hook(name)) {
    return fail("Interrupted", "reconcile stopped before step " + std::string(name));
  }
  return ok();
}

void ApiKeyReconciler::forget(const std::string& key) {
  {
    std::lock_guard seen_lock(seen_mu_);
    seen_secret_versions_.erase(key);
  }
  std::lock_guard lock(mu_);
  key_conditions_.erase(key);
  revoke_retry_at_.erase(key);
  rotation_failures_.erase(key);
  forget_metrics(key);
  if (deps_.metrics != nullptr) {
    std::map<std::string, int> counts{
        {"Ready", 0}, {"NotReady", 0}, {"Degraded", 0}, {"Inactive", 0}};
    for (const auto& [k, c] : key_conditions_) ++counts[c];
    for (const auto& [c, n] : counts) deps_.metrics->apikeys.set({{"condition", c}}, n);
  }
}

void ApiKeyReconciler::forget_metrics(const std::string& key) {
  if (deps_.metrics == nullptr) return;
  if (const auto slash = key.find('/'); slash != std::string::npos) {
    forget_apikey_metrics(*deps_.metrics, key.substr(0, slash), key.substr(slash + 1));
  }
}

void ApiKeyReconciler::record_condition_metric(const Pass& pass, const std::string& condition) {
  if (deps_.metrics == nullptr) return;
  // The reason that decided the condition: Degraded's, Ready's when not ready, else Rotating's
  // (AsExpected, RestartingConsumers, ConsumersHeld, WaitingForWindow, RotationPending).
  const auto reason_of = [&](std::string_view type) -> std::string {
    const auto* c = apikey::find_condition(pass.desired.conditions, type);
    return c != nullptr ? c->reason : "";
  };
  ApiKeyMetricState state;
  state.condition = condition;
  state.reason = condition == "Degraded"                              ? reason_of(ct::kDegraded)
                 : condition == "NotReady" || condition == "Inactive" ? reason_of(ct::kReady)
                                                                      : reason_of(ct::kRotating);
  // The planned time from the last rotation, not the status's (which never lies in the past): an
  // overdue rotation keeps a time in the past here until it happens (KeywardRotationOverdue).
  if (pass.spec && pass.spec->active && pass.planner && pass.secret && pass.secret->rotated_at) {
    const SystemTime last = *pass.secret->rotated_at;
    if (auto planned = pass.planner->next_rotation(last, last)) state.next_rotation = *planned;
  }
  state.consumers = pass.desired.consumers;
  record_apikey_metrics(*deps_.metrics, pass.meta.ns, pass.meta.name, state);
  const std::string& key = pass.key;
  std::lock_guard lock(mu_);
  key_conditions_[key] = condition;
  std::map<std::string, int> counts{
      {"Ready", 0}, {"NotReady", 0}, {"Degraded", 0}, {"Inactive", 0}};
  for (const auto& [k, c] : key_conditions_) ++counts[c];
  for (const auto& [c, n] : counts) deps_.metrics->apikeys.set({{"condition", c}}, n);
}

Result<Action> ApiKeyReconciler::reconcile(const kube::Object& apikey_object) {
  const auto started = std::chrono::steady_clock::now();  // duration metric only
  auto result = reconcile_once(apikey_object);
  if (deps_.metrics != nullptr) {
    deps_.metrics->reconcile_duration_seconds.observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    if (!result) {
      deps_.metrics->reconcile_total.inc({{"result", "error"}});
      deps_.metrics->reconcile_errors_total.inc({{"reason", result.error().reason}});
    } else {
      deps_.metrics->reconcile_total.inc(
          {{"result", result->requeue_after ? "requeue" : "success"}});
    }
  }
  return result;
}

Result<Action> ApiKeyReconciler::reconcile_once(const kube::Object& apikey_object) {
  Pass pass;
  pass.object = apikey_object;
  pass.now = deps_.clock.now();
  auto meta = apikey::parse_object_meta(apikey_object);
  if (!meta) return fail(meta.error());
  pass.meta = *meta;
  pass.key = pass.meta.ns + "/" + pass.meta.name;
  if (apikey_object.contains("status") && !apikey_object["status"].is_null()) {
    if (auto status = apikey::parse_apikey_status(apikey_object["status"]))
      pass.status_in = *status;
  }
  pass.desired = pass.status_in;
  pass.desired.observed_generation = pass.meta.generation;
  auto spec = apikey::parse_apikey_spec(apikey_object.value("spec", kube::Object::object()));
  if (spec) pass.spec = *spec;

  if (pass.meta.deletion_timestamp) return handle_deletion(pass);

  // 1. Our finalizer first, so a deletion always finds us able to clean up.
  if (!has_finalizer(pass.object, apikey::kFinalizer)) {
    if (auto st = step(step::kAddFinalizer); !st) return fail(st.error());
    auto patched =
        add_finalizer(deps_.api, apikey::apikey_resource(), pass.object, apikey::kFinalizer);
    if (!patched) return fail(patched.error());
    pass.object = *patched;
  }

  // 3. An invalid spec is reported, not retried: the user's next edit triggers the next pass.
  if (!spec) return report_invalid_spec(pass, spec.error());

  if (pass.spec->rotation) {
    auto planner = apikey::RotationPlanner::create(*pass.spec->rotation);
    if (!planner) return report_invalid_spec(pass, planner.error());
    pass.planner = std::move(*planner);
  }

  // 4. The Secret.
  auto secret = ensure_secret(pass);
  if (!secret) return fail(secret.error());
  pass.secret = std::move(*secret);

  if (pass.spec->active && pass.secret) {
    // 5. Rotation. A failure (an error, or a key source that degrades the pass) starts a failure
    // episode for the RotationFailing alert, counted once per reason until a pass succeeds.
    if (auto rotated = rotate_if_due(pass); !rotated) {
      note_rotation_outcome(pass, &rotated.error());
      return fail(rotated.error());
    }
    pass.rotation_failed = pass.degraded && pass.degraded->reason != rs::kWindowNeverOpens;
    note_rotation_outcome(pass, pass.rotation_failed ? &*pass.degraded : nullptr);
    // 6. Grace period.
    if (auto st = drop_expired_previous(pass); !st) return fail(st.error());
  }
  if (auto st = retry_pending_revoke(pass); !st) return fail(st.error());

  // 7. Consumers (report only while inactive: restarts nothing).
  if (pass.secret) {
    RestartSettings settings;
    settings.key_version = pass.secret->version;
    settings.consumers = pass.spec->consumers;
    if (!pass.spec->active) settings.consumers.restart_strategy = apikey::RestartStrategy::None;
    settings.planner = pass.planner ? &*pass.planner : nullptr;
    if (pass.secret->rotated_at && pass.secret->version > 1) {
      const auto grace = pass.spec->rotation
                             ? std::chrono::seconds(pass.spec->rotation->grace_period_seconds)
                             : std::chrono::seconds(apikey::RotationSpec{}.grace_period_seconds);
      settings.key_expiry = pass.secret->grace_ends_at.value_or(
          pass.secret->previous_expires_at.value_or(*pass.secret->rotated_at + grace));
    }
    if (auto st = step(step::kRestartConsumers); !st) return fail(st.error());
    auto report = restarter_.run(pass.object, settings);
    if (!report) return fail(report.error());
    pass.restarts = std::move(*report);
    earliest(pass.wake_at, pass.restarts->plan.wake_at);
    // 7b. Two-phase rotation: the previous key goes as soon as every consuming pod runs the
    // current one. Only when Keyward sees consumers at all: with no pod, someone outside the
    // cluster may still be moving over, and the grace period decides.
    const RestartPlan& plan = pass.restarts->plan;
    if (pass.spec->active && pass.secret->previous && plan.on_previous.empty() &&
        plan.counts.up_to_date > 0) {
      if (auto st = revoke_previous(pass, "every consuming pod runs the current key"); !st) {
        return fail(st.error());
      }
    }
  }

  // 8. Status.
  if (auto st = write_status(pass); !st) return fail(st.error());

  // 9. Requeue at the next due moment.
  if (pass.spec->active) {
    earliest(pass.wake_at, pass.next_rotation);
    // A previous key revoked here and pending at the provider is retried on its own clock.
    if (pass.secret && pass.secret->previous && !pass.secret->previous_revoked)
      earliest(pass.wake_at, pass.secret->previous_expires_at);
  }
  if (pass.secret && pass.secret->previous_revoked) {
    earliest(pass.wake_at, pass.now + kProviderRevokeRetry);
  }
  if (pass.degraded && pass.degraded->reason == rs::kWindowNeverOpens) {
    earliest(pass.wake_at, pass.now + kWindowNeverOpensRecheck);
  }
  if (pass.spec->active && !pass.secret) earliest(pass.wake_at, pass.now + kSeedKeyRecheck);
  if (pass.rotation_failed) {
    // The key source is asked again on its own clock (a provider's Retry-After when later), not
    // only when something changes: a failure nothing retries would never rotate the key.
    earliest(
        pass.wake_at,
        pass.now + std::max(kKeySourceRetry, pass.degraded->retry_after.value_or(kKeySourceRetry)));
  }
  if (!pass.wake_at) return Action::await_change();
  const auto delay = std::chrono::ceil<std::chrono::seconds>(*pass.wake_at - pass.now);
  return Action::requeue(std::max(delay, std::chrono::seconds(1)));
}

Result<Action> ApiKeyReconciler::handle_deletion(Pass& pass) {
  if (!has_finalizer(pass.object, apikey::kFinalizer)) return Action::await_change();
  if (pass.spec && pass.spec->consumers.workload_ref) {
    const auto& ref = *pass.spec->consumers.workload_ref;
    const auto type = workload_type(ref.kind);
    auto workload = deps_.api.get(*type, pass.meta.ns, ref.name);
    if (workload) {
      const std::string message = "ApiKey is assigned to " + s(apikey::to_string(ref.kind)) + "/" +
                                  ref.name +
                                  "; unassign it first (remove "
                                  "spec.consumers.workloadRef or delete the workload)";
      (void)deps_.events.record(pass.object, EventType::Warning, "DeletionBlocked",
                                "DeletionBlocked: ApiKey is assigned to " +
                                    s(apikey::to_string(ref.kind)) + "/" + ref.name +
                                    "; unassign it first");
      pass.degraded = Error{"DeletionBlocked", message, 0};
      apikey::set_condition(
          pass.desired.conditions,
          condition(ct::kDegraded, true, "DeletionBlocked", message, pass.meta.generation),
          pass.now);
      if (pass.desired != pass.status_in) {
        kube::Object body = pass.object;
        body["status"] = apikey::to_json(pass.desired);
        auto written = deps_.api.update_status(apikey::apikey_resource(), body);
        if (!written) return fail(written.error());
      }
      return Action::requeue(kDeletionRecheck);
    }
    if (workload.error().http_status != 404) return fail(workload.error());
  }
  if (auto st = step(step::kRemoveFinalizer); !st) return fail(st.error());
  auto removed =
      remove_finalizer(deps_.api, apikey::apikey_resource(), pass.object, apikey::kFinalizer);
  if (!removed && removed.error().http_status != 404) return fail(removed.error());
  deps_.logger.info("ApiKey deleted; finalizer removed", {{"object", pass.key}});
  forget(pass.key);
  return Action::await_change();
}

Result<Action> ApiKeyReconciler::report_invalid_spec(Pass& pass, const Error& error) {
  auto& conditions = pass.desired.conditions;
  apikey::set_condition(
      conditions, condition(ct::kDegraded, true, error.reason, error.message, pass.meta.generation),
      pass.now);
  apikey::set_condition(
      conditions,
      condition(ct::kReady, false, error.reason, "the spec is invalid; see the Degraded condition",
                pass.meta.generation),
      pass.now);
  apikey::set_condition(
      conditions,
      condition(ct::kRotating, false, error.reason, "nothing rotates while the spec is invalid",
                pass.meta.generation),
      pass.now);
  record_condition_metric(pass, "Degraded");
  if (pass.desired != pass.status_in) {
    (void)deps_.events.record(pass.object, EventType::Warning, error.reason, error.message);
    if (auto st = step(step::kWriteStatus); !st) return fail(st.error());
    kube::Object body = pass.object;
    body["status"] = apikey::to_json(pass.desired);
    auto written = deps_.api.update_status(apikey::apikey_resource(), body);
    if (!written) return fail(written.error());
  }
  deps_.logger.warn("ApiKey spec is invalid",
                    {{"object", pass.key}, {"reason", error.reason}, {"error", error.message}});
  return Action::await_change();
}

Result<apikey::KeyMaterial> ApiKeyReconciler::obtain_key(Pass& pass,
                                                         const std::string& idempotency_key) {
  std::unique_ptr<HttpTransport> transport;
  if (const auto* http = std::get_if<apikey::HttpSource>(&pass.spec->source)) {
    if (!deps_.http_transports) {
      return fail("InvalidSpec", "spec.source.http: this operator has no HTTP client configured");
    }
    auto made = deps_.http_transports(http->url, http->ca_bundle);
    if (!made) return fail(made.error());
    transport = std::move(*made);
  }
  apikey::KeySourceDeps source_deps{deps_.generator, deps_.api, transport.get(),
                                    deps_.logger.redactor()};
  auto source = apikey::make_key_source(pass.spec->source, source_deps);
  if (!source) return fail(source.error());
  apikey::KeyRequest request;
  request.ns = pass.meta.ns;
  request.apikey_name = pass.meta.name;
  if (pass.secret) request.current_key = pass.secret->current.api_key;
  request.idempotency_key = idempotency_key;
  auto key = (*source)->obtain(request);
  if (key) apikey::redact_material(deps_.logger.redactor(), *key);
  return key;
}

namespace {

kube::Object owner_reference(const apikey::ObjectMeta& meta) {
  return {{"apiVersion", std::string(apikey::kApiVersion)},
          {"kind", std::string(apikey::kKind)},
          {"name", meta.name},
          {"uid", meta.uid},
          {"controller", true},
          {"blockOwnerDeletion", true}};
}

// Writes the key fields and annotations into a Secret object (keeping everything else): every
// field of the material, and of the previous version during grace, in one write; a field the
// version does not have is removed. The key fields are sealed when the operator has a sealer
// (docs/sealing.md): the previous ones are bound to the version before `version`.
Result<kube::Object> with_key(kube::Object secret, const apikey::KeySealer* sealer,
                              const apikey::KeyOwner& owner, const apikey::KeyMaterial& key,
                              std::int64_t version, SystemTime rotated_at,
                              const std::optional<apikey::KeyMaterial>& previous,
                              std::optional<SystemTime> previous_expires_at, bool active,
                              const std::optional<SystemTime>& grace_ends_at = std::nullopt,
                              const std::string& handled_request = "") {
  auto hash = apikey::content_hash(key);
  if (!hash) return fail(hash.error());
  auto& data = secret["data"];
  if (!data.is_object()) data = kube::Object::object();
  const bool keep_previous = previous && previous_expires_at;
  for (const apikey::KeyField& f : apikey::key_fields()) {
    const std::string& value = key.*f.member;
    if (value.empty()) {
      data.erase(s(f.name));
    } else {
      auto stored = apikey::stored_key_value(value, f.name, version, sealer, owner);
      if (!stored) return fail(stored.error());
      data[s(f.name)] = base64_encode(*stored);
    }
    const std::string* before = keep_previous ? &((*previous).*f.member) : nullptr;
    if (before == nullptr || before->empty()) {
      data.erase(s(f.previous_name));
    } else {
      auto stored = apikey::stored_key_value(*before, f.name, version - 1, sealer, owner);
      if (!stored) return fail(stored.error());
      data[s(f.previous_name)] = base64_encode(*stored);
    }
  }
  data[s(apikey::secret_field::kKeyVersion)] = base64_encode(std::to_string(version));
  data[s(apikey::secret_field::kActive)] = base64_encode(active ? "true" : "false");
  if (keep_previous) {
    data[s(apikey::secret_field::kPreviousExpiresAt)] =
        base64_encode(format_rfc3339(*previous_expires_at));
  } else {
    data.erase(s(apikey::secret_field::kPreviousExpiresAt));
  }
  auto& annotations = secret["metadata"]["annotations"];
  if (!annotations.is_object()) annotations = kube::Object::object();
  annotations[s(apikey::annotation::kKeyVersion)] = std::to_string(version);
  annotations[s(apikey::annotation::kContentHash)] = *hash;
  annotations[s(apikey::annotation::kRotatedAt)] = format_rfc3339(rotated_at);
  annotations.erase(s(apikey::annotation::kRotationNonce));
  annotations.erase(s(apikey::kPreviousRevoked));
  if (grace_ends_at) annotations[s(apikey::kGraceEndsAt)] = format_rfc3339(*grace_ends_at);
  if (!handled_request.empty()) annotations[s(apikey::kRotateRequestHandled)] = handled_request;
  return secret;
}

}  // namespace

Result<std::optional<apikey::KeySecret>> ApiKeyReconciler::ensure_secret(Pass& pass) {
  const std::string name = apikey::secret_name_for(pass.meta.name);
  pass.desired.secret_name = name;
  auto in_order = [&](const apikey::KeySecret& secret) {
    return secret.owned_by(pass.meta.uid) && secret.version > 0 && secret.rotated_at &&
           secret.version_field_current && secret.active == pass.spec->active &&
           !needs_reseal(secret);
  };
  // The cache first: a pass over a key whose Secret is in order reads nothing from the API.
  // Anything else (a Secret to create, adopt or repair) is decided on a fresh read.
  if (kube::ObjectPtr cached = cached_secret(pass, name)) {
    auto secret = read_secret(pass, *cached);
    if (secret && in_order(*secret)) return std::optional<apikey::KeySecret>(std::move(*secret));
  }
  auto got = deps_.api.get(kube::ResourceType::secrets(), pass.meta.ns, name);
  if (got) {
    auto secret = read_secret(pass, *got);
    if (!secret) {
      pass.degraded = secret.error();
      return std::optional<apikey::KeySecret>{};
    }
    const bool reseal = needs_reseal(*secret);
    if (in_order(*secret)) return std::optional<apikey::KeySecret>(std::move(*secret));
    // Adopt a Secret we did not create (an http source's seed key) or repair its annotations.
    if (auto st = step(step::kAdoptSecret); !st) return fail(st.error());
    kube::Object body = *got;
    auto& md = body["metadata"];
    if (!secret->owned_by(pass.meta.uid)) {
      if (!md.contains("ownerReferences")) md["ownerReferences"] = kube::Object::array();
      md["ownerReferences"].push_back(owner_reference(pass.meta));
    }
    md["labels"][s(apikey::kApiKeyLabel)] = pass.meta.name;
    auto adopted =
        with_key(body, deps_.sealer, owner_of(pass), secret->current,
                 std::max<std::int64_t>(secret->version, 1), secret->rotated_at.value_or(pass.now),
                 secret->previous, secret->previous_expires_at, pass.spec->active);
    if (!adopted) {
      pass.degraded = adopted.error();  // sealing failed: the Secret stays as it is
      return std::optional<apikey::KeySecret>{};
    }
    if (!secret->rotation_nonce.empty()) {
      (*adopted)["metadata"]["annotations"][s(apikey::annotation::kRotationNonce)] =
          secret->rotation_nonce;
    }
    if (secret->previous_revoked) {  // still revoked here, still pending at the provider
      (*adopted)["metadata"]["annotations"][s(apikey::kPreviousRevoked)] =
          std::to_string(secret->version - 1);
    }
    auto written = deps_.api.update(kube::ResourceType::secrets(), *adopted);
    if (!written) return secret_write_failed(pass, written.error());
    if (reseal) {
      const std::string kek = deps_.sealer->primary_id().value_or("");
      deps_.logger.info("sealed the key Secret under the primary KEK",
                        {{"object", pass.key}, {"secret", name}, {"kek", kek}});
      (void)deps_.events.record(pass.object, EventType::Normal, "KeySealed",
                                "sealed the key material of Secret " + name + " under KEK " + kek);
    } else {
      deps_.logger.info("adopted the key Secret", {{"object", pass.key}, {"secret", name}});
    }
    auto reread = read_secret(pass, *written);
    if (!reread) return fail(reread.error());
    return std::optional<apikey::KeySecret>(std::move(*reread));
  }
  if (got.error().http_status != 404) return fail(got.error());
  if (!pass.spec->active) return std::optional<apikey::KeySecret>{};  // no delivery while inactive
  if (std::holds_alternative<apikey::HttpSource>(pass.spec->source)) {
    pass.degraded = Error{"SeedKeyMissing",
                          "spec.source.http needs the current key to call the provider: create "
                          "Secret " +
                              name + " with data.apiKey holding it; the operator adopts it",
                          0};
    return std::optional<apikey::KeySecret>{};
  }
  pass.secret.reset();
  auto key = obtain_key(pass, pass.meta.uid + "-1");
  if (!key) {
    pass.degraded = key.error();
    return std::optional<apikey::KeySecret>{};
  }
  kube::Object body = {{"apiVersion", "v1"},
                       {"kind", "Secret"},
                       {"type", "Opaque"},
                       {"metadata",
                        {{"name", name},
                         {"namespace", pass.meta.ns},
                         {"labels", {{s(apikey::kApiKeyLabel), pass.meta.name}}},
                         {"ownerReferences", kube::Object::array({owner_reference(pass.meta)})}}}};
  auto full = with_key(body, deps_.sealer, owner_of(pass), *key, 1, pass.now, std::nullopt,
                       std::nullopt, pass.spec->active);
  if (!full) {
    // Never stored unsealed when sealing is configured: the KEK comes first.
    pass.degraded = full.error();
    return std::optional<apikey::KeySecret>{};
  }
  if (auto st = step(step::kCreateSecret); !st) return fail(st.error());
  auto created = deps_.api.create(kube::ResourceType::secrets(), pass.meta.ns, *full);
  // AlreadyExists: the next pass reads it.
  if (!created) return secret_write_failed(pass, created.error());
  deps_.logger.info("created the key Secret",
                    {{"object", pass.key}, {"secret", name}, {"keyVersion", 1}});
  (void)deps_.events.record(pass.object, EventType::Normal, s(rs::kKeyAvailable),
                            "created Secret " + name + " with key version 1");
  auto reread = read_secret(pass, *created);
  if (!reread) return fail(reread.error());
  return std::optional<apikey::KeySecret>(std::move(*reread));
}

Status ApiKeyReconciler::rotate_with_key(Pass& pass, const apikey::KeyMaterial& new_key,
                                         const char* why) {
  apikey::KeySecret& current = *pass.secret;
  const std::int64_t version = current.version + 1;
  const auto grace = pass.planner
                         ? pass.planner->grace_period()
                         : std::chrono::seconds(apikey::RotationSpec{}.grace_period_seconds);
  std::optional<apikey::KeyMaterial> previous;
  std::optional<SystemTime> expires;
  const bool end_grace = pass.forced && pass.forced->end_grace;
  const auto* http = std::get_if<apikey::HttpSource>(&pass.spec->source);
  const bool provider_revokes = http != nullptr && !http->revoke_url.empty();
  if (grace.count() > 0 && !end_grace) {
    previous = current.current;
    expires = pass.now + grace;
  } else if (provider_revokes) {
    // No grace (a leaked key): the old key is kept only to revoke it at the provider, later in
    // this pass; it is never delivered or valid again (kPreviousRevoked).
    previous = current.current;
    expires = pass.now;
  }
  // A forced end of grace (a leaked key): the previous key is not kept at all.
  const SystemTime grace_ends = end_grace ? pass.now : pass.now + grace;
  auto body = with_key(current.object, deps_.sealer, owner_of(pass), new_key, version, pass.now,
                       previous, expires, pass.spec->active, grace_ends,
                       pass.forced ? pass.forced->request : std::string());
  if (!body) return fail(body.error());
  if (previous && expires == pass.now) {
    (*body)["metadata"]["annotations"][s(apikey::kPreviousRevoked)] = std::to_string(version - 1);
  }
  if (auto st = step(step::kStoreKey); !st) return fail(st.error());
  // Conditional on the resourceVersion we read: a concurrent rotation makes this a 409 and the
  // next pass sees the fresh rotated-at, so a key version is never skipped or doubled.
  auto written = deps_.api.update(kube::ResourceType::secrets(), *body);
  if (!written) return fail(secret_write_failed(pass, written.error()).error());
  auto reread = read_secret(pass, *written);
  if (!reread) return fail(reread.error());
  pass.secret = std::move(*reread);
  if (deps_.metrics != nullptr) {
    deps_.metrics->rotations_total.inc({{"namespace", pass.meta.ns}, {"name", pass.meta.name}});
  }
  deps_.logger.info("rotated the key",
                    {{"object", pass.key}, {"keyVersion", version}, {"why", why}});
  std::string message = "rotated to key version " + std::to_string(version) + " (" + why + ")";
  if (pass.forced) {
    message += ", requested by " +
               (pass.forced->requested_by.empty() ? std::string("an unnamed user")
                                                  : pass.forced->requested_by) +
               " (keyward.dev/rotate=" + pass.forced->request + ")";
    if (end_grace) {
      message +=
          "; the previous key's grace ended at once: it is no longer kept, and the pods still on "
          "it are restarted now, outside windows";
    }
  }
  (void)deps_.events.record(pass.object, end_grace ? EventType::Warning : EventType::Normal,
                            s(rs::kKeyRotated), message);
  return ok();
}

Status ApiKeyReconciler::http_rotation(Pass& pass, const std::string& nonce) {
  // A provider that revokes: the previous key, which this rotation would push out, is revoked
  // there first. While that fails the rotation waits (Degraded says why): a key is never dropped
  // before the provider has it revoked.
  const auto& http = std::get<apikey::HttpSource>(pass.spec->source);
  if (!http.revoke_url.empty() && pass.secret->previous) {
    if (auto st = revoke_previous(pass, "a new rotation replaces it"); !st) return st;
    if (pass.secret->previous) return ok();
  }
  if (pass.secret->rotation_nonce != nonce) {
    // Persist the nonce BEFORE calling the provider: after a crash the next pass finds it and
    // asks again with the same Idempotency-Key, getting the same key back instead of a second one.
    kube::Object body = pass.secret->object;
    body["metadata"]["annotations"][s(apikey::annotation::kRotationNonce)] = nonce;
    if (auto st = step(step::kPersistNonce); !st) return fail(st.error());
    if (auto st = store_secret(pass, body); !st) return st;
  }
  if (auto st = step(step::kCallProvider); !st) return fail(st.error());
  auto key = obtain_key(pass, nonce);
  if (!key) {
    pass.degraded = key.error();
    return ok();  // reported in status; the nonce stays, the next pass asks again
  }
  // Store it at once; on a conflict re-read and store the SAME key, never ask for another.
  bool stale = false;  // the Secret in pass is the one a conflict refused: re-read it first
  return kube::retry_on_conflict([&]() -> Status {
    if (stale) {
      auto fresh =
          deps_.api.get(kube::ResourceType::secrets(), pass.meta.ns, pass.desired.secret_name);
      if (!fresh) return fail(fresh.error());
      auto reread = read_secret(pass, *fresh);
      if (!reread) return fail(reread.error());
      if (reread->rotation_nonce != nonce) return ok();  // someone else finished this rotation
      pass.secret = std::move(*reread);
    }
    stale = true;
    return rotate_with_key(pass, *key, "provider regenerated the key");
  });
}

Status ApiKeyReconciler::rotate_if_due(Pass& pass) {
  apikey::KeySecret& secret = *pass.secret;
  const auto& source = pass.spec->source;
  // A rotation asked for by annotation (keyward.dev/rotate): at once, outside windows, once per
  // value. The value is stored with the new key in one write, so a crash cannot double it.
  const std::string request = kube::annotation(pass.object, apikey::kRotateAnnotation);
  const bool requested = !request.empty() && request != secret.rotate_request;
  ForcedRotation forced{request,
                        kube::annotation(pass.object, apikey::kRotateRequestedByAnnotation),
                        kube::annotation(pass.object, apikey::kRotateEndGraceAnnotation) == "true"};
  if (std::holds_alternative<apikey::HttpSource>(source) && !secret.rotation_nonce.empty()) {
    // A rotation is in flight: finish it whatever the schedule says now (and, when one was
    // asked for, as that one: its end of grace applies and the request is recorded).
    if (requested) pass.forced = forced;
    return http_rotation(pass, secret.rotation_nonce);
  }
  if (requested) {
    if (std::holds_alternative<apikey::SecretRefSource>(source)) {
      // Keyward cannot make a key it does not issue: the desk puts the new key into its Secret.
      // The request is recorded as handled so it is reported once.
      kube::Object body = secret.object;
      body["metadata"]["annotations"][s(apikey::kRotateRequestHandled)] = request;
      if (auto st = store_secret(pass, body); !st) return st;
      (void)deps_.events.record(
          pass.object, EventType::Warning, "RotateNotPossible",
          "keyward.dev/rotate=" + request +
              " asks for a rotation, but spec.source.secretRef keys are issued outside Keyward: "
              "put the new key into Secret " +
              std::get<apikey::SecretRefSource>(source).name +
              " (the operator rotates when its content changes)");
      return ok();
    }
    pass.forced = forced;
    if (std::holds_alternative<apikey::HttpSource>(source)) {
      return http_rotation(pass, pass.meta.uid + "-" + std::to_string(secret.version + 1));
    }
    auto key = obtain_key(pass, "");
    if (!key) {
      pass.degraded = key.error();
      return ok();
    }
    return rotate_with_key(pass, *key, "requested");
  }
  if (std::holds_alternative<apikey::SecretRefSource>(source)) {
    auto key = obtain_key(pass, "");
    if (!key) {
      pass.degraded = key.error();
      return ok();
    }
    auto hash = apikey::content_hash(*key);
    if (!hash) return fail(hash.error());
    if (*hash != secret.content_hash) {
      return rotate_with_key(pass, *key, "the source Secret changed");
    }
    return ok();
  }
  if (!pass.planner) return ok();
  const SystemTime last = secret.rotated_at.value_or(pass.now);
  auto due = pass.planner->next_rotation(last, pass.now);
  if (!due) {
    pass.degraded = due.error();
    return ok();
  }
  deps_.logger.debug("rotation schedule", {{"object", pass.key},
                                           {"rotatedAt", format_rfc3339(last)},
                                           {"due", format_rfc3339(*due)},
                                           {"now", format_rfc3339(pass.now)}});
  if (*due > pass.now) {
    pass.next_rotation = *due;
    return ok();
  }
  if (std::holds_alternative<apikey::HttpSource>(source)) {
    if (auto st = http_rotation(pass, pass.meta.uid + "-" + std::to_string(secret.version + 1));
        !st) {
      return st;
    }
  } else {
    auto key = obtain_key(pass, "");
    if (!key) {
      pass.degraded = key.error();
      return ok();
    }
    if (auto st = rotate_with_key(pass, *key, "scheduled"); !st) return st;
  }
  if (pass.secret->rotated_at) {
    auto next = pass.planner->next_rotation(*pass.secret->rotated_at, pass.now);
    if (next) pass.next_rotation = *next;
  }
  return ok();
}

Status ApiKeyReconciler::drop_expired_previous(Pass& pass) {
  apikey::KeySecret& secret = *pass.secret;
  if (!secret.previous) return ok();
  if (secret.previous_expires_at && *secret.previous_expires_at > pass.now) return ok();
  return revoke_previous(pass, "its grace period ended");
}

Status ApiKeyReconciler::revoke_at_provider(Pass& pass, const apikey::HttpSource& http,
                                            std::int64_t revoked) {
  if (auto st = step(step::kRevokeAtProvider); !st) return fail(st.error());
  if (!deps_.http_transports) {
    return fail("InvalidSpec",
                "spec.source.http.revokeUrl: this operator has no HTTP client configured");
  }
  auto transport = deps_.http_transports(http.revoke_url, http.ca_bundle);
  if (!transport) return fail(transport.error());
  return apikey::revoke_at_provider(**transport, http, pass.secret->previous->api_key,
                                    pass.meta.uid + "-revoke-" + std::to_string(revoked), pass.key,
                                    deps_.logger.redactor());
}

Status ApiKeyReconciler::store_secret(Pass& pass, const kube::Object& body) {
  auto written = deps_.api.update(kube::ResourceType::secrets(), body);
  if (!written) return fail(secret_write_failed(pass, written.error()).error());
  auto reread = read_secret(pass, *written);
  if (!reread) return fail(reread.error());
  pass.secret = std::move(*reread);
  return ok();
}

Status ApiKeyReconciler::retry_pending_revoke(Pass& pass) {
  if (!pass.secret || !pass.secret->previous_revoked) return ok();
  return revoke_previous(pass, "retrying its revocation at the provider");
}

Status ApiKeyReconciler::revoke_previous(Pass& pass, const std::string& why) {
  apikey::KeySecret& secret = *pass.secret;
  const std::int64_t revoked = secret.version - 1;
  const auto* http = std::get_if<apikey::HttpSource>(&pass.spec->source);
  if (http != nullptr && !http->revoke_url.empty() && secret.previous) {
    if (pass.revoke_attempted) return ok();  // once per pass; its outcome is already reported
    if (secret.previous_revoked) {
      std::lock_guard lock(mu_);
      auto at = revoke_retry_at_.find(pass.key);
      if (at != revoke_retry_at_.end() && pass.now < at->second.retry_at) {
        // Not yet due: the last call's outcome stands (the same condition, no provider call).
        pass.revoke_attempted = true;
        pass.degraded = at->second.error;
        return ok();
      }
    }
    // The provider first: the previous key is dropped only once it no longer works there, so a
    // failed call can be retried with it. Meanwhile it is revoked here (never delivered or valid).
    pass.revoke_attempted = true;
    if (Status at_provider = revoke_at_provider(pass, *http, revoked); !at_provider) {
      pass.degraded = at_provider.error();
      earliest(pass.wake_at, pass.now + kProviderRevokeRetry);
      {
        std::lock_guard lock(mu_);
        revoke_retry_at_[pass.key] =
            PendingRevoke{pass.now + kProviderRevokeRetry, at_provider.error()};
      }
      if (secret.previous_revoked) return ok();
      kube::Object body = secret.object;
      body["metadata"]["annotations"][s(apikey::kPreviousRevoked)] = std::to_string(revoked);
      if (auto st = step(step::kDropPrevious); !st) return fail(st.error());
      if (auto st = store_secret(pass, body); !st) return st;
      deps_.logger.warn("previous key revoked here; its revocation at the provider failed",
                        {{"object", pass.key},
                         {"revokedVersion", revoked},
                         {"reason", at_provider.error().reason}});
      (void)deps_.events.record(pass.object, EventType::Warning, "ProviderRevokeFailed",
                                "revoked key version " + std::to_string(revoked) + " (" + why +
                                    "): it is no longer delivered or valid, but the provider's "
                                    "revoke call failed (" +
                                    at_provider.error().message + "); retrying");
      return ok();
    }
  }
  {
    std::lock_guard lock(mu_);
    revoke_retry_at_.erase(pass.key);
  }
  kube::Object body = secret.object;
  body["metadata"]["annotations"].erase(s(apikey::kPreviousRevoked));
  for (const apikey::KeyField& f : apikey::key_fields()) body["data"].erase(s(f.previous_name));
  body["data"].erase(s(apikey::secret_field::kPreviousExpiresAt));
  if (auto st = step(step::kDropPrevious); !st) return fail(st.error());
  if (auto st = store_secret(pass, body); !st) return st;
  deps_.logger.info("previous key revoked", {{"object", pass.key},
                                             {"revokedVersion", revoked},
                                             {"why", why},
                                             {"keyVersion", pass.secret->version}});
  (void)deps_.events.record(pass.object, EventType::Normal, "PreviousKeyRevoked",
                            "revoked key version " + std::to_string(revoked) + ": " + why +
                                "; only key version " + std::to_string(pass.secret->version) +
                                " is valid now");
  return ok();
}

// ProviderReady mirrors what the broker's session last heard from the provider. Without a
// session (no broker, provider none, inactive, standby) the condition is removed.
void ApiKeyReconciler::set_provider_ready(Pass& pass) const {
  if (!deps_.provider_states) return;
  auto& conditions = pass.desired.conditions;
  const auto state = pass.spec->active ? deps_.provider_states->get(pass.key) : std::nullopt;
  if (!state || state->reason.empty()) {
    apikey::remove_condition(conditions, ct::kProviderReady);
    return;
  }
  std::string message = "the token broker's session: " + state->message;
  if (state->until) message += " (next request at " + format_rfc3339(*state->until) + ")";
  apikey::set_condition(conditions,
                        condition(ct::kProviderReady, state->ready, state->reason,
                                  std::move(message), pass.meta.generation),
                        pass.now);
}

// A change of ProviderReady to a failing (or warning) state is a Warning event, a recovery a
// Normal one.
void ApiKeyReconciler::provider_ready_events(const Pass& pass) {
  const apikey::Condition* before =
      apikey::find_condition(pass.status_in.conditions, ct::kProviderReady);
  const apikey::Condition* now =
      apikey::find_condition(pass.desired.conditions, ct::kProviderReady);
  if (now == nullptr) return;
  const bool was_ready = before == nullptr || before->status == cs::kTrue;
  const bool ready = now->status == cs::kTrue;
  if (before != nullptr && before->reason == now->reason && before->status == now->status) return;
  if (!ready || now->reason == "SessionReplaced") {
    (void)deps_.events.record(pass.object, EventType::Warning, now->reason, now->message);
  } else if (!was_ready) {
    (void)deps_.events.record(pass.object, EventType::Normal, s(rs::kProviderRecovered),
                              now->message);
  }
}

void ApiKeyReconciler::note_rotation_outcome(const Pass& pass, const Error* error) {
  if (error != nullptr && error->http_status == 409) return;  // a conflict is retried at once
  const Labels key{{"namespace", pass.meta.ns}, {"name", pass.meta.name}};
  std::lock_guard lock(mu_);
  if (error == nullptr) {
    if (rotation_failures_.erase(pass.key) > 0 && deps_.metrics != nullptr) {
      deps_.metrics->rotation_failing.erase_matching(key);
    }
    return;
  }
  auto [it, inserted] = rotation_failures_.try_emplace(pass.key, error->reason);
  if (!inserted && it->second == error->reason) return;  // the same episode, counted already
  it->second = error->reason;
  if (deps_.metrics != nullptr) {
    Labels failing = key;
    failing["reason"] = error->reason;
    deps_.metrics->rotation_failures_total.inc(failing);
    deps_.metrics->rotation_failing.erase_matching(key);
    deps_.metrics->rotation_failing.set(failing, 1);
  }
}

// What the status should say, from the pass alone: no API request, no event, no metric.
// Returns the keyward_apikeys condition label of the key.
std::string ApiKeyReconciler::compute_status(Pass& pass) const {
  auto& st = pass.desired;
  const auto gen = pass.meta.generation;
  auto& conditions = st.conditions;
  const bool active = pass.spec->active;
  if (pass.secret) {
    st.key_version = pass.secret->version;
    const auto* gen_source = std::get_if<apikey::GenerateSource>(&pass.spec->source);
    st.key_hint =
        apikey::mask_key(pass.secret->current.api_key, gen_source ? gen_source->prefix : "");
    st.last_rotation_time = pass.secret->rotated_at;
  }
  st.next_rotation_time = active ? pass.next_rotation : std::nullopt;
  if (deps_.last_used) {
    // Whole seconds, as the status stores them, so an unchanged time compares equal.
    if (auto used = deps_.last_used->published(pass.key)) {
      const SystemTime t = std::chrono::floor<std::chrono::seconds>(*used);
      if (!st.last_used_time || *st.last_used_time < t) st.last_used_time = t;
    }
  }
  st.previous_key.reset();
  if (pass.secret && pass.secret->previous && !pass.secret->previous_revoked) {
    apikey::PreviousKeyStatus previous;
    previous.version = pass.secret->version - 1;
    previous.revoked_by = pass.secret->previous_expires_at;
    if (pass.restarts) {
      const auto& names = pass.restarts->plan.on_previous;
      previous.pods.assign(
          names.begin(),
          names.begin() + static_cast<std::ptrdiff_t>(std::min<std::size_t>(names.size(), 100)));
    }
    st.previous_key = std::move(previous);
  }
  if (pass.restarts) {
    st.consumers = pass.restarts->plan.counts;
    st.holds = pass.restarts->plan.holds;
  }

  std::string metric = "Ready";
  if (!active) {
    apikey::set_condition(conditions,
                          condition(ct::kReady, false, s(rs::kInactive),
                                    "spec.active is false: the key is not delivered and no pod "
                                    "is restarted",
                                    gen),
                          pass.now);
    metric = "Inactive";
  } else if (pass.secret) {
    apikey::set_condition(conditions,
                          condition(ct::kReady, true, s(rs::kKeyAvailable),
                                    "key version " + std::to_string(pass.secret->version) +
                                        " is in Secret " + st.secret_name,
                                    gen),
                          pass.now);
  } else {
    const std::string reason = pass.degraded ? pass.degraded->reason : "KeyMissing";
    apikey::set_condition(
        conditions,
        condition(ct::kReady, false, reason, "no key yet; see the Degraded condition", gen),
        pass.now);
    metric = "NotReady";
  }

  const auto& plan = pass.restarts ? pass.restarts->plan : RestartPlan{};
  if (active && pass.secret && !pass.secret->rotation_nonce.empty()) {
    apikey::set_condition(conditions,
                          condition(ct::kRotating, true, s(rs::kRotationPending),
                                    "waiting for the provider to return the new key", gen),
                          pass.now);
  } else if (active && plan.counts.stale > 0) {
    std::string reason = s(rs::kRestartingConsumers);
    if (plan.counts.held > 0)
      reason = s(rs::kConsumersHeld);
    else if (plan.waiting_for_window)
      reason = s(rs::kWaitingForWindow);
    apikey::set_condition(conditions,
                          condition(ct::kRotating, true, reason,
                                    std::to_string(plan.counts.stale) +
                                        " pod(s) on an older key "
                                        "version, " +
                                        std::to_string(plan.counts.held) + " held",
                                    gen),
                          pass.now);
  } else {
    apikey::set_condition(conditions,
                          condition(ct::kRotating, false, s(rs::kAsExpected),
                                    "every consumer runs the current key version", gen),
                          pass.now);
  }

  if (!plan.escalations.empty()) {
    const auto& e = plan.escalations.front();
    apikey::set_condition(conditions,
                          condition(ct::kDegraded, true, s(rs::kHoldEscalated),
                                    "pod " + e.pod + " holds the old key (" + e.reason +
                                        "); it will be restarted at " + format_rfc3339(e.deadline),
                                    gen),
                          pass.now);
    metric = metric == "Ready" ? "Degraded" : metric;
  } else if (pass.degraded) {
    apikey::set_condition(
        conditions,
        condition(ct::kDegraded, true, pass.degraded->reason, pass.degraded->message, gen),
        pass.now);
    metric = metric == "Ready" ? "Degraded" : metric;
  } else {
    apikey::set_condition(
        conditions,
        condition(ct::kDegraded, false, s(rs::kAsExpected), "nothing needs attention", gen),
        pass.now);
  }
  set_provider_ready(pass);
  return metric;
}

Status ApiKeyReconciler::write_status(Pass& pass) {
  record_condition_metric(pass, compute_status(pass));
  provider_ready_events(pass);
  const auto& st = pass.desired;
  const auto gen = pass.meta.generation;
  if (st == pass.status_in) return ok();
  if (pass.degraded) {
    // Once per change of status, not on every pass of a requeue loop.
    (void)deps_.events.record(pass.object, EventType::Warning, pass.degraded->reason,
                              pass.degraded->message);
  }
  if (auto stp = step(step::kWriteStatus); !stp) return fail(stp.error());
  kube::Object body = pass.object;
  body["status"] = apikey::to_json(st);
  bool stale = false;  // a conflict refused body: re-read the ApiKey first
  auto written = kube::retry_on_conflict(
      [&]() -> Result<kube::Object> {
        if (stale) {
          // Our cached copy was stale (often our own previous status write). The status is
          // computed from the Secret and the pods, not from the ApiKey, so it stays right for
          // the same spec; a new generation is left to the next pass.
          auto fresh = deps_.api.get(apikey::apikey_resource(), pass.meta.ns, pass.meta.name);
          if (!fresh) return fail(fresh.error());
          if (fresh->at("metadata").value("generation", 0) != gen) {
            return fail("SpecChanged",
                        "the ApiKey's spec changed while its status was written; the next pass "
                        "writes the status for the new spec");
          }
          body = *fresh;
          body["status"] = apikey::to_json(st);
        }
        stale = true;
        return deps_.api.update_status(apikey::apikey_resource(), body);
      },
      3);
  if (!written) return fail(written.error());
  pass.object = *written;
  return ok();
}

}  // namespace keyward::controller
