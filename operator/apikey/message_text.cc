#include "operator/apikey/message_text.h"

namespace keyward::apikey {
namespace {

// Length of the valid UTF-8 sequence starting at text[i], or 0 when it is not one.
std::size_t sequence_length(std::string_view text, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  std::size_t len = 0;
  unsigned min_code = 0;
  unsigned code = 0;
  if (lead < 0x80) return 1;
  if ((lead & 0xE0) == 0xC0) {
    len = 2;
    code = lead & 0x1Fu;
    min_code = 0x80;
  } else if ((lead & 0xF0) == 0xE0) {
    len = 3;
    code = lead & 0x0Fu;
    min_code = 0x800;
  } else if ((lead & 0xF8) == 0xF0) {
    len = 4;
    code = lead & 0x07u;
    min_code = 0x10000;
  } else {
    return 0;
  }
  if (i + len > text.size()) return 0;
  for (std::size_t k = 1; k < len; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    code = (code << 6) | (byte(i + k) & 0x3Fu);
  }
  if (code < min_code || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return 0;
  return len;
}

}  // namespace

std::size_t utf8_length(std::string_view text) {
  std::size_t count = 0;
  for (std::size_t i = 0; i < text.size(); ++count) {
    const std::size_t len = sequence_length(text, i);
    i += len == 0 ? 1 : len;
  }
  return count;
}

std::string message_safe(std::string_view text, std::size_t max_code_points) {
  std::string out;
  std::size_t count = 0;
  std::size_t i = 0;
  for (; i < text.size() && count < max_code_points; ++count) {
    const std::size_t len = sequence_length(text, i);
    if (len == 0) {
      out.push_back('?');
      ++i;
    } else if (len == 1) {
      const auto c = static_cast<unsigned char>(text[i]);
      out.push_back(c < 0x20 || c == 0x7F ? ' ' : text[i]);
      ++i;
    } else {
      out.append(text.substr(i, len));
      i += len;
    }
  }
  if (i < text.size()) out += "...";
  return out;
}

}  // namespace keyward::apikey
