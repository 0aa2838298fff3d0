#pragma once
// Lazy loading of the large shared libraries that an idle nanolet never calls (libcurl: registry
// pulls, apiserver client, manifest URL, HTTP probes; libarchive: image layers). Linked directly,
// they and their dependencies (GnuTLS, Kerberos, LDAP, libssh2, ICU, libxml2, ...) are mapped and
// relocated at start, and GnuTLS's constructor runs: about 5 MiB of RSS (bench/rss.sh) in a process
// that may never make a request.
//
// lazy_curl.cc and lazy_archive.cc define the libraries' functions that nanolet calls, with the
// prototypes of the real headers (the compiler checks them), each forwarding to the real function
// looked up with dlopen/dlsym at its first call. A missing library ends nanolet with a message at
// that first call. Calling a function of these libraries that is not forwarded yet fails at link
// time ("undefined reference to curl_..."): add a line to lazy_curl.cc / lazy_archive.cc.
namespace nanolet::lazy {

// The address of `symbol` in the shared library `soname` (loaded on first use); aborts with a
// message when the library or the symbol is missing.
void* Symbol(const char* soname, const char* symbol);

}  // namespace nanolet::lazy

// Defines `name` forwarding to the real one of `soname`: LAZY_FORWARD(lib, ret, name, (params),
// (args)).
#define NANOLET_LAZY_FORWARD(soname, ret, name, params, args)                        \
  extern "C" ret(name) params {                                                      \
    static auto* real =                                                              \
        reinterpret_cast<decltype(&::name)>(::nanolet::lazy::Symbol(soname, #name)); \
    return real args;                                                                \
  }
