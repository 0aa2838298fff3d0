#include "lazy/lazy_lib.h"

#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>

namespace nanolet::lazy {

void* Symbol(const char* soname, const char* symbol) {
  static std::mutex mu;
  static std::map<std::string, void*>* handles = new std::map<std::string, void*>;  // never freed
  void* handle = nullptr;
  {
    std::lock_guard<std::mutex> l(mu);
    void*& h = (*handles)[soname];
    if (!h) h = ::dlopen(soname, RTLD_NOW | RTLD_LOCAL);
    handle = h;
  }
  if (!handle) {
    std::fprintf(stderr, "nanolet: cannot load %s: %s\n", soname, ::dlerror());
    std::abort();
  }
  void* f = ::dlsym(handle, symbol);
  if (!f) {
    std::fprintf(stderr, "nanolet: %s has no %s\n", soname, symbol);
    std::abort();
  }
  return f;
}

}  // namespace nanolet::lazy
