#pragma once
// The sidecar's TokenRefresher: the shared timing logic (common/token/token_refresher.h, also
// run by the operator's broker sessions) delivering into the token files.
//
//   TokenRefresher refresher(source, files, random, metrics, logger, options);
//   SystemTime next = refresher.step(clock.now());   // do what is due, say when to call again

#include "common/token/token_refresher.h"
#include "sidecar/token_files.h"
#include "sidecar/token_source.h"

namespace keyward::sidecar {

using keyward::RefresherOptions;
using keyward::RefresherStatus;

// TokenSink over the token directory: Delivery -> TokenRecord -> token, token.json, token.env.
class FileTokenSink final : public TokenSink {
 public:
  explicit FileTokenSink(TokenFileWriter& files) : files_(files) {}
  Status deliver(const Delivery& delivery) override;

 private:
  TokenFileWriter& files_;
};

TokenRecord to_record(const Delivery& delivery);
Delivery to_delivery(const TokenRecord& record);

namespace detail {
// Constructed before the shared refresher it feeds (base-from-member).
struct FileSinkHolder {
  explicit FileSinkHolder(TokenFileWriter& files) : file_sink(files) {}
  FileTokenSink file_sink;
};
}  // namespace detail

class TokenRefresher final : private detail::FileSinkHolder, public keyward::TokenRefresher {
 public:
  TokenRefresher(TokenSource& source, TokenFileWriter& files, Random& random,
                 MetricsRegistry& metrics, Logger logger, RefresherOptions options)
      : detail::FileSinkHolder(files),
        keyward::TokenRefresher(source, file_sink, random, metrics, std::move(logger),
                                std::move(options)) {}

  using keyward::TokenRefresher::adopt_cached;
  // Adopts a token.json left by an earlier run (see keyward::TokenRefresher::adopt_cached).
  bool adopt_cached(const TokenRecord& record, SystemTime now) {
    return adopt_cached(to_delivery(record), now);
  }
};

}  // namespace keyward::sidecar
