#pragma once
// Overwrites a string's whole buffer (its capacity, not only its size) with OPENSSL_cleanse,
// which the compiler may not optimise away, and empties it: for buffers that held a key or token.

#include <openssl/crypto.h>

#include <string>

namespace keyward {

inline void wipe(std::string& value) noexcept {
  if (value.capacity() > 0) OPENSSL_cleanse(value.data(), value.capacity());
  value.clear();
}

}  // namespace keyward
