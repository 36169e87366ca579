#pragma once
// The Kubernetes API's StatusReason for an HTTP status code (metav1.StatusReason, as the API
// server puts it in a Status object's `reason`). One table for the client, which names a failure
// by it when the server sent no Status, and the test API server, which answers with it.
// Header-only and dependency-free, so the stand-in API server can use it without the client.

#include <string_view>

namespace keyward::kube {

// "" for a code the API server has no reason for.
constexpr std::string_view status_reason_for_code(int code) {
  switch (code) {
    case 400:
      return "BadRequest";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "NotFound";
    case 405:
      return "MethodNotAllowed";
    case 406:
      return "NotAcceptable";
    case 409:
      return "Conflict";
    case 410:
      return "Expired";
    case 413:
      return "RequestEntityTooLarge";
    case 415:
      return "UnsupportedMediaType";
    case 422:
      return "Invalid";
    case 429:
      return "TooManyRequests";
    case 500:
      return "InternalError";
    case 503:
      return "ServiceUnavailable";
    case 504:
      return "Timeout";
    default:
      return "";
  }
}

}  // namespace keyward::kube
