#pragma once
// labelSelector and fieldSelector of list requests, as the apiserver parses them
// (k8s.io/apimachinery/pkg/labels and fields).
#include <string>
#include <vector>

#include "api/types.h"
#include "util/result.h"

namespace nanolet::server {

// A conjunction of requirements. Labels: `k=v`, `k==v`, `k!=v`, `k`, `!k`, `k in (a,b)`, `k notin
// (a,b)`. Fields (pods): metadata.name, metadata.namespace, spec.nodeName, spec.restartPolicy,
// spec.schedulerName, spec.serviceAccountName, status.phase, status.podIP with =, == or !=.
class Selector {
 public:
  // An empty text selects everything. Invalid text (or an unsupported field) is an kInvalid error
  // whose message the server returns in a 400 Status.
  static Result<Selector> ParseLabels(const std::string& text);
  static Result<Selector> ParseFields(const std::string& text);

  bool Matches(const api::Pod& pod) const;
  bool empty() const { return reqs_.empty(); }

 private:
  enum class Op { kEq, kNotEq, kExists, kNotExists, kIn, kNotIn };
  struct Req {
    std::string key;
    Op op;
    std::vector<std::string> values;
  };
  bool fields_ = false;
  std::vector<Req> reqs_;
};

}  // namespace nanolet::server
