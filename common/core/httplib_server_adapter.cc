#include "common/core/httplib_server_adapter.h"

#include <httplib.h>

namespace keyward {

HttpRequest request_from_httplib(const httplib::Request& req) {
  HttpRequest in;
  in.method = req.method;
  in.path = req.target.empty() ? req.path : req.target;
  for (const auto& [k, v] : req.headers) in.headers.emplace(k, v);
  in.body = req.body;
  return in;
}

void write_to_httplib(const HttpResponse& out, httplib::Response& res) {
  res.status = out.status;
  std::string content_type = "application/json";
  for (const auto& [k, v] : out.headers) {
    const bool is_content_type =
        !CaseInsensitiveLess{}(k, "Content-Type") && !CaseInsensitiveLess{}("Content-Type", k);
    if (is_content_type) {
      content_type = v;
    } else {
      res.set_header(k, v);
    }
  }
  res.set_content(out.body, content_type);
}

}  // namespace keyward
