#include "sidecar/file_token_sink.h"

namespace keyward::sidecar {

namespace {

TokenState to_state(DeliveryState s) {
  switch (s) {
    case DeliveryState::Valid:
      return TokenState::Valid;
    case DeliveryState::Expired:
      return TokenState::Expired;
    case DeliveryState::Inactive:
      return TokenState::Inactive;
    case DeliveryState::Revoked:
      return TokenState::Revoked;
  }
  return TokenState::Expired;
}

DeliveryState to_delivery_state(TokenState s) {
  switch (s) {
    case TokenState::Valid:
      return DeliveryState::Valid;
    case TokenState::Expired:
      return DeliveryState::Expired;
    case TokenState::Inactive:
      return DeliveryState::Inactive;
    case TokenState::Revoked:
      return DeliveryState::Revoked;
  }
  return DeliveryState::Expired;
}

}  // namespace

TokenRecord to_record(const Delivery& delivery) {
  return TokenRecord{delivery.token, to_state(delivery.state), delivery.credentials_fingerprint};
}

Delivery to_delivery(const TokenRecord& record) {
  return Delivery{record.token, to_delivery_state(record.state), record.credentials_fingerprint};
}

Status FileTokenSink::deliver(const Delivery& delivery) {
  return files_.write(to_record(delivery));
}

}  // namespace keyward::sidecar
