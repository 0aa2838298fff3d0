#pragma once
// Validation as upstream pkg/apis/core/validation, with upstream wording. Each problem is a Diagnostic whose
// `field` is the full path ("spec.containers[0].image") and whose line is left 0 (the caller maps paths to
// lines with DecodedObject::LineOf).
#include <vector>

#include "api/decode.h"
#include "api/types.h"

namespace nanolet::api {

std::vector<Diagnostic> ValidatePod(const Pod& pod);
std::vector<Diagnostic> ValidateWorkload(const Workload& w);
std::vector<Diagnostic> ValidateConfigMap(const ConfigMap& cm);
std::vector<Diagnostic> ValidateSecret(const Secret& s);
// Dispatches on the object's kind; also fills each diagnostic's file and line from `obj`.
std::vector<Diagnostic> Validate(const DecodedObject& obj, std::string_view file);

}  // namespace nanolet::api
