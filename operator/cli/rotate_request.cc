#include "operator/cli/rotate_request.h"

#include "operator/apikey/names.h"

namespace keyward::cli {

Result<RotateRequest> parse_rotate_arguments(const std::vector<std::string>& args) {
  RotateRequest r;
  std::string target;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--end-grace") {
      r.end_grace = true;
    } else if (a == "--requested-by") {
      if (i + 1 >= args.size()) return fail("InvalidArguments", "--requested-by needs a value");
      r.requested_by = args[++i];
    } else if (a.starts_with("--requested-by=")) {
      r.requested_by = a.substr(std::string("--requested-by=").size());
    } else if (a.starts_with("-")) {
      return fail("InvalidArguments", "unknown flag " + a +
                                          "; usage: keyward-operator rotate NAMESPACE/NAME "
                                          "[--end-grace] [--requested-by WHO] [--kubeconfig F]");
    } else if (target.empty()) {
      target = a;
    } else {
      return fail("InvalidArguments", "one ApiKey at a time: got " + target + " and " + a);
    }
  }
  const auto slash = target.find('/');
  if (target.empty() || slash == std::string::npos || slash == 0 || slash + 1 == target.size()) {
    return fail("InvalidArguments",
                "name the ApiKey as NAMESPACE/NAME, e.g. keyward-operator rotate bots/alpha-bot");
  }
  r.ns = target.substr(0, slash);
  r.name = target.substr(slash + 1);
  return r;
}

Status request_rotation(kube::KubeApi& api, const RotateRequest& request) {
  const std::string key = request.ns + "/" + request.name;
  if (auto found = api.get(apikey::apikey_resource(), request.ns, request.name); !found) {
    if (found.error().http_status == 404) {
      return fail("ApiKeyNotFound",
                  "no ApiKey " + key + "; list them with kubectl get apikeys -n " + request.ns);
    }
    return fail(found.error());
  }
  kube::Object annotations = {
      {std::string(apikey::kRotateAnnotation), request.value},
      {std::string(apikey::kRotateRequestedByAnnotation), request.requested_by},
      {std::string(apikey::kRotateEndGraceAnnotation),
       request.end_grace ? kube::Object("true") : kube::Object(nullptr)}};
  const kube::Object patch = {{"metadata", {{"annotations", annotations}}}};
  auto patched =
      api.patch(apikey::apikey_resource(), request.ns, request.name, kube::PatchType::Merge, patch);
  if (!patched) return fail(patched.error());
  return ok();
}

}  // namespace keyward::cli
