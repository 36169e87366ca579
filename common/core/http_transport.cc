#include "common/core/http_transport.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace keyward {

bool CaseInsensitiveLess::operator()(std::string_view a, std::string_view b) const {
  return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) <
           std::tolower(static_cast<unsigned char>(y));
  });
}

std::optional<std::string> HttpResponse::header(std::string_view name) const {
  auto it = headers.find(std::string(name));
  if (it == headers.end()) return std::nullopt;
  return it->second;
}

Result<HttpEndpoint> HttpEndpoint::parse(std::string_view url, std::string* base_path) {
  HttpEndpoint ep;
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) {
    return fail("InvalidURL", "URL '" + std::string(url) +
                                  "' has no scheme: write it as https://host[:port][/path]");
  }
  ep.scheme = std::string(url.substr(0, scheme_end));
  if (ep.scheme != "http" && ep.scheme != "https") {
    return fail("InvalidURL", "URL '" + std::string(url) + "' must start with http:// or https://");
  }
  std::string_view rest = url.substr(scheme_end + 3);
  const auto slash = rest.find('/');
  std::string_view hostport = rest.substr(0, slash);
  if (base_path) {
    *base_path = slash == std::string_view::npos ? "" : std::string(rest.substr(slash));
    while (!base_path->empty() && base_path->back() == '/') base_path->pop_back();
  }
  ep.port = ep.scheme == "https" ? 443 : 80;
  if (!hostport.empty() && hostport.front() == '[') {  // [::1]:6443
    const auto close = hostport.find(']');
    if (close == std::string_view::npos)
      return fail("InvalidURL", "URL '" + std::string(url) + "' has an unclosed IPv6 bracket");
    ep.host = std::string(hostport.substr(1, close - 1));
    hostport = hostport.substr(close + 1);
    if (!hostport.empty() && hostport.front() == ':')
      hostport = hostport.substr(1);
    else
      hostport = {};
  } else {
    const auto colon = hostport.rfind(':');
    ep.host = std::string(hostport.substr(0, colon));
    hostport = colon == std::string_view::npos ? std::string_view{} : hostport.substr(colon + 1);
  }
  if (!hostport.empty()) {
    int port = 0;
    auto [p, ec] = std::from_chars(hostport.data(), hostport.data() + hostport.size(), port);
    if (ec != std::errc() || p != hostport.data() + hostport.size() || port <= 0 || port > 65535) {
      return fail("InvalidURL", "URL '" + std::string(url) + "' has an invalid port");
    }
    ep.port = port;
  }
  if (ep.host.empty()) return fail("InvalidURL", "URL '" + std::string(url) + "' has no host");
  return ep;
}

std::string HttpEndpoint::to_string() const {
  const bool v6 = host.find(':') != std::string::npos;
  return scheme + "://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

}  // namespace keyward
