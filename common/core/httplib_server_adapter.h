#pragma once
// The server side of the httplib boundary: every Keyward HTTP server (the status server, the
// webhook, the token broker) writes its handlers against HttpRequest/HttpResponse, and these
// two functions translate at the edge, so the translation rules exist once:
//   * the request's path is its target (path and query, as sent);
//   * the response's Content-Type comes from its headers (case-insensitive), default
//     application/json; every other header is copied.

#include "common/core/http_transport.h"

namespace httplib {
struct Request;
struct Response;
}  // namespace httplib

namespace keyward {

HttpRequest request_from_httplib(const httplib::Request& req);
void write_to_httplib(const HttpResponse& out, httplib::Response& res);

}  // namespace keyward
