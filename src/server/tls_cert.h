#pragma once
// The serving certificate of the authenticated port when no --tls-cert-file/--tls-private-key-file
// is given: as upstream's kubelet, a self-signed certificate in its cert dir (here ROOT/pki:
// kubelet.crt, kubelet.key), generated once with OpenSSL and reused while it is valid.
#include <string>
#include <vector>

#include "util/result.h"

namespace nanolet::server {

struct TlsFiles {
  std::string cert;
  std::string key;
};

// Reuses dir/kubelet.crt + dir/kubelet.key when they parse, match and stay valid for at least a
// day; otherwise writes a new pair (ECDSA P-256, one year, SANs: `host`, localhost, 127.0.0.1, ::1
// and `ips`; the key file mode 0600).
Result<TlsFiles> EnsureSelfSignedCert(const std::string& dir, const std::string& host,
                                      const std::vector<std::string>& ips = {});

}  // namespace nanolet::server
