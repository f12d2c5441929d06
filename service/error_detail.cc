#include "service/error_detail.h"

#include "google/rpc/status.pb.h"

namespace lovebank::service {

v1::ErrorDetail ErrorDetailOf(const grpc::Status& status) {
  v1::ErrorDetail detail;
  google::rpc::Status rich;
  if (!rich.ParseFromString(status.error_details())) return detail;
  for (const auto& any : rich.details()) {
    if (any.UnpackTo(&detail)) return detail;
  }
  return detail;
}

}  // namespace lovebank::service
