#pragma once
// FileTokenSink: the sidecar's TokenSink (common/token/token_source.h) over the token directory.
// The shared TokenRefresher (common/token/token_refresher.h, also run by the operator's broker
// sessions) delivers into it: Delivery -> TokenRecord -> token, token.json, token.env.
//
//   FileTokenSink sink(files);
//   TokenRefresher refresher(source, sink, random, metrics, logger, options);
//   refresher.adopt_cached(to_delivery(record), now);   // a token.json left by an earlier run

#include "common/token/token_source.h"
#include "sidecar/token_files.h"

namespace keyward::sidecar {

class FileTokenSink final : public TokenSink {
 public:
  explicit FileTokenSink(TokenFileWriter& files) : files_(files) {}
  Status deliver(const Delivery& delivery) override;

 private:
  TokenFileWriter& files_;
};

TokenRecord to_record(const Delivery& delivery);
Delivery to_delivery(const TokenRecord& record);

}  // namespace keyward::sidecar
