// The grpc probe's HTTP/2 + gRPC response handling (prober/grpc_prober.cc GrpcHealthSession) must
// never crash, hang or leak on any bytes a server sends, and must end in a clear outcome: a success
// only for a SERVING answer, a failure with a message otherwise.
// Input: byte 0 picks the framing (bit 0: prepend the server's empty SETTINGS frame; bits 1-7: the
// size of the pieces the rest is fed in, 0 = all at once); bit 0 of byte 1: end with EOF.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "prober/grpc_prober.h"

using nanolet::prober::GrpcHealthSession;
using nanolet::prober::ProbeOutcome;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  std::string_view in(reinterpret_cast<const char*>(data) + 2, size - 2);
  size_t chunk = data[0] >> 1;
  bool settings = data[0] & 1, eof = data[1] & 1;
  GrpcHealthSession s("10.0.0.1:9000", "svc", std::chrono::milliseconds(1000));
  (void)s.TakeOutput();
  std::string bytes = settings ? std::string("\0\0\0\x04\0\0\0\0\0", 9) : std::string();
  bytes.append(in);
  if (chunk == 0) chunk = bytes.size() ? bytes.size() : 1;
  for (size_t i = 0; i < bytes.size() && !s.done() && s.connect_error().empty(); i += chunk) {
    s.Feed(std::string_view(bytes).substr(i, chunk));
    (void)s.TakeOutput();
  }
  if (eof) s.Eof();
  if (s.done()) {
    const ProbeOutcome& o = s.outcome();
    bool ok = (o.kind == ProbeOutcome::Kind::kSuccess && o.output == "service healthy") ||
              (o.kind == ProbeOutcome::Kind::kFailure && !o.output.empty());
    if (!ok || !s.connected()) {
      std::fprintf(stderr, "bad outcome: kind %d connected %d output %s\n",
                   static_cast<int>(o.kind), s.connected(), o.output.c_str());
      std::abort();
    }
  }
  return 0;
}
