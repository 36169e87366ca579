#pragma once
// Text from outside (provider answers, user-supplied spec values) made safe to put into an error
// message, a condition or an event: valid UTF-8 (nlohmann::json refuses to serialise anything
// else), one line, bounded.

#include <cstddef>
#include <string>
#include <string_view>

namespace keyward::apikey {

// Unicode code points in `text`, as the API server counts maxLength (invalid bytes count one each).
[[nodiscard]] std::size_t utf8_length(std::string_view text);

// At most `max_code_points` code points of `text` ("..." appended when cut); control characters
// become spaces and bytes that are not valid UTF-8 become '?'.
[[nodiscard]] std::string message_safe(std::string_view text, std::size_t max_code_points);

}  // namespace keyward::apikey
