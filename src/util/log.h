#pragma once
// Structured logging in the kubelet's InfoS style: `I1127 18:40:01.123456 level msg key="value" ...`
// on stderr. Every line that concerns a pod carries pod= (namespace/name), and container= where relevant.
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace nanolet::log {

enum class Level { kError = 0, kWarning = 1, kInfo = 2, kDebug = 4 };

using KV = std::pair<std::string_view, std::string_view>;

// --v N: Info lines print at v >= 0; V(n) lines at v >= n.
void SetVerbosity(int v);
int Verbosity();
bool Enabled(int v);

void Write(Level level, std::string_view msg, std::initializer_list<KV> kvs);

inline void Info(std::string_view msg, std::initializer_list<KV> kvs = {}) { Write(Level::kInfo, msg, kvs); }
inline void Warn(std::string_view msg, std::initializer_list<KV> kvs = {}) { Write(Level::kWarning, msg, kvs); }
inline void Error(std::string_view msg, std::initializer_list<KV> kvs = {}) { Write(Level::kError, msg, kvs); }
// Verbose: printed only at --v >= v.
inline void V(int v, std::string_view msg, std::initializer_list<KV> kvs = {}) {
  if (Enabled(v)) Write(Level::kDebug, msg, kvs);
}

}  // namespace nanolet::log
