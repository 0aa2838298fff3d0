#pragma once
// `nanolet check [-o json|yaml] FILE...`: decode, default and validate manifests without running anything.
#include <iosfwd>
#include <string>
#include <vector>

namespace nanolet::api {

// Returns the process exit code: 0 when every file is valid, 1 with one line per problem on `err`
// ("FILE:LINE: field.path: message"); warnings go to `err` too ("FILE:LINE: warning: field.path: ...").
// `output` is "" (nothing printed on success), "json" or "yaml": the defaulted objects on `out`.
int RunCheck(const std::vector<std::string>& files, const std::string& output, std::ostream& out,
             std::ostream& err);

}  // namespace nanolet::api
