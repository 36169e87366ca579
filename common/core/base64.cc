#include "common/core/base64.h"

#include <openssl/evp.h>

#include <cctype>
#include <climits>

namespace keyward {

std::string base64_encode(std::string_view bytes) {
  if (bytes.empty()) return {};
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

Result<std::string> base64_decode(std::string_view text) {
  std::string clean;
  clean.reserve(text.size());
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isspace(u)) continue;
    if (!std::isalnum(u) && c != '+' && c != '/' && c != '=') {
      return fail("InvalidBase64", "the value is not base64: it has a character base64 never uses");
    }
    clean.push_back(c);
  }
  if (clean.size() % 4 != 0 || clean.size() > static_cast<std::size_t>(INT_MAX)) {
    return fail("InvalidBase64", "the value is not base64: its length is not a multiple of 4");
  }
  std::size_t pad = 0;
  if (clean.ends_with("==")) {
    pad = 2;
  } else if (clean.ends_with("=")) {
    pad = 1;
  }
  if (clean.find('=') < clean.size() - pad) {
    return fail("InvalidBase64", "the value is not base64: padding before its end");
  }
  if (clean.empty()) return std::string();
  std::string out(clean.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(clean.data()),
                                static_cast<int>(clean.size()));
  if (n < 0) return fail("InvalidBase64", "the value is not valid base64");
  // EVP_DecodeBlock counts the padding as zero bytes; drop them.
  out.resize(static_cast<std::size_t>(n) - pad);
  return out;
}

}  // namespace keyward
