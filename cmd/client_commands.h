#pragma once
// `nanolet get pods` and `nanolet logs`: small clients of the node API (the read-only port) for machines
// without kubectl.
#include <string>

namespace nanolet::cmd {

struct ClientFlags {
  std::string server = "http://127.0.0.1:10255";
  bool all_namespaces = false;
  std::string namespace_ = "default";
  std::string output;  // "", "wide", "json"
  std::string pod;
  std::string container;
  bool follow = false;
  int tail = -1;
};

int GetPods(const ClientFlags& f);
int Logs(const ClientFlags& f);

}  // namespace nanolet::cmd
