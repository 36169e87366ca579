#pragma once
// Standard base64 (RFC 4648 section 4, with padding) through OpenSSL's EVP block coder: Secret
// data, HTTP Basic credentials, admission patches, kubeconfig certificate data. One definition
// for every module.

#include <string>
#include <string_view>

#include "common/core/result.h"

namespace keyward {

std::string base64_encode(std::string_view bytes);

// ASCII whitespace is ignored (line-wrapped PEM-style data). Anything else that is not base64 (a
// foreign character, a length that is not a multiple of 4, padding before the end) is
// Error{"InvalidBase64", ...}; the message never quotes the input, which may be a secret.
Result<std::string> base64_decode(std::string_view text);

}  // namespace keyward
