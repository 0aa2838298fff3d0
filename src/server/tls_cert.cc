#include "server/tls_cert.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <ctime>
#include <memory>

#include "util/fs.h"
#include "util/log.h"

namespace nanolet::server {
namespace tls_cert_detail {

struct Free {
  void operator()(X509* p) const { X509_free(p); }
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(BIO* p) const { BIO_free(p); }
  void operator()(X509_EXTENSION* p) const { X509_EXTENSION_free(p); }
};
template <class T>
using Ptr = std::unique_ptr<T, Free>;

std::string BioString(BIO* b) {
  char* data = nullptr;
  long n = BIO_get_mem_data(b, &data);
  return std::string(data, n > 0 ? static_cast<size_t>(n) : 0);
}

// True when cert and key parse, belong together and the cert is valid for another day.
bool Usable(const std::string& cert_pem, const std::string& key_pem) {
  Ptr<BIO> cb(BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size())));
  Ptr<BIO> kb(BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size())));
  if (!cb || !kb) return false;
  Ptr<X509> cert(PEM_read_bio_X509(cb.get(), nullptr, nullptr, nullptr));
  Ptr<EVP_PKEY> key(PEM_read_bio_PrivateKey(kb.get(), nullptr, nullptr, nullptr));
  if (!cert || !key || X509_check_private_key(cert.get(), key.get()) != 1) return false;
  time_t tomorrow = std::time(nullptr) + 86400;
  return X509_cmp_time(X509_get0_notAfter(cert.get()), &tomorrow) > 0;
}

bool AddExt(X509* cert, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  Ptr<X509_EXTENSION> ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  return ext && X509_add_ext(cert, ext.get(), -1) == 1;
}

Result<TlsFiles> Generate(const TlsFiles& files, const std::string& host,
                          const std::vector<std::string>& ips) {
  Ptr<EVP_PKEY> key(EVP_EC_gen("P-256"));
  if (!key) return Error("generate key: EVP_EC_gen failed");
  Ptr<X509> cert(X509_new());
  X509_set_version(cert.get(), 2);
  unsigned char serial[16];
  RAND_bytes(serial, sizeof serial);
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 365L * 86400);
  X509_set_pubkey(cert.get(), key.get());
  // As upstream's self-signed kubelet certificate: CN "<host>@<unix time>".
  std::string cn = host + "@" + std::to_string(std::time(nullptr));
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  std::string san = "DNS:" + host + ",DNS:localhost,IP:127.0.0.1,IP:::1";
  for (const auto& ip : ips) san += ",IP:" + ip;
  if (!AddExt(cert.get(), NID_subject_alt_name, san) ||
      !AddExt(cert.get(), NID_basic_constraints, "critical,CA:TRUE") ||
      !AddExt(cert.get(), NID_key_usage, "critical,digitalSignature,keyCertSign") ||
      !AddExt(cert.get(), NID_ext_key_usage, "serverAuth")) {
    return Error("build certificate extensions (SANs " + san + ")");
  }
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) return Error("sign certificate");
  Ptr<BIO> cb(BIO_new(BIO_s_mem())), kb(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(cb.get(), cert.get());
  PEM_write_bio_PrivateKey(kb.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  RETURN_IF_ERROR(WriteFileAtomic(files.key, BioString(kb.get()), 0600));
  RETURN_IF_ERROR(WriteFileAtomic(files.cert, BioString(cb.get()), 0644));
  return files;
}

}  // namespace tls_cert_detail

Result<TlsFiles> EnsureSelfSignedCert(const std::string& dir, const std::string& host,
                                      const std::vector<std::string>& ips) {
  RETURN_IF_ERROR(MkdirAll(dir, 0700));
  TlsFiles files{JoinPath(dir, "kubelet.crt"), JoinPath(dir, "kubelet.key")};
  auto cert = ReadFile(files.cert, 1 << 20);
  auto key = ReadFile(files.key, 1 << 20);
  if (cert.ok() && key.ok() && tls_cert_detail::Usable(*cert, *key)) return files;
  auto r = tls_cert_detail::Generate(files, host.empty() ? "localhost" : host, ips);
  if (!r.ok()) return Error("self-signed certificate in " + dir + ": " + r.error().message());
  log::Info("generated a self-signed serving certificate", {{"cert", files.cert}});
  return r;
}

}  // namespace nanolet::server
