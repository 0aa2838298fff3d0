#include "server/selectors.h"

#include <algorithm>
#include <optional>

#include "util/strings.h"

namespace nanolet::server {
namespace {

// Splits at commas outside parentheses.
std::vector<std::string> SplitTerms(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  int depth = 0;
  for (char c : s) {
    if (c == '(') ++depth;
    if (c == ')') --depth;
    if (c == ',' && depth == 0) {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.push_back(cur);
  return out;
}

std::optional<std::string> PodField(const api::Pod& pod, const std::string& key) {
  if (key == "metadata.name") return pod.metadata.name;
  if (key == "metadata.namespace") return pod.metadata.namespace_;
  if (key == "spec.nodeName") return pod.spec.node_name;
  if (key == "spec.restartPolicy") return pod.spec.restart_policy;
  if (key == "spec.schedulerName") return pod.spec.scheduler_name;
  if (key == "spec.serviceAccountName") return pod.spec.service_account_name;
  if (key == "status.phase") return pod.status.phase;
  if (key == "status.podIP") return pod.status.pod_ip;
  if (key == "status.nominatedNodeName") return std::string();
  return std::nullopt;
}

}  // namespace

Result<Selector> Selector::ParseLabels(const std::string& text) {
  Selector sel;
  if (Trim(text).empty()) return sel;
  for (const auto& raw : SplitTerms(text)) {
    std::string term(Trim(raw));
    if (term.empty()) return Invalid("invalid label selector \"" + text + "\": empty requirement");
    Req r;
    size_t sp;
    if (term[0] == '!') {
      r.key = std::string(Trim(std::string_view(term).substr(1)));
      r.op = Op::kNotExists;
    } else if ((sp = term.find(" notin ")) != std::string::npos ||
               (sp = term.find(" in ")) != std::string::npos) {
      bool notin = term.compare(sp, 7, " notin ") == 0;
      r.key = std::string(Trim(std::string_view(term).substr(0, sp)));
      std::string rest(Trim(std::string_view(term).substr(sp + (notin ? 7 : 4))));
      if (rest.size() < 2 || rest.front() != '(' || rest.back() != ')') {
        return Invalid("invalid label selector \"" + text + "\": expected (values)");
      }
      for (const auto& v : Split(rest.substr(1, rest.size() - 2), ','))
        r.values.emplace_back(Trim(v));
      r.op = notin ? Op::kNotIn : Op::kIn;
    } else if ((sp = term.find("!=")) != std::string::npos) {
      r.key = std::string(Trim(std::string_view(term).substr(0, sp)));
      r.values = {std::string(Trim(std::string_view(term).substr(sp + 2)))};
      r.op = Op::kNotEq;
    } else if ((sp = term.find('=')) != std::string::npos) {
      size_t len = term.compare(sp, 2, "==") == 0 ? 2 : 1;
      r.key = std::string(Trim(std::string_view(term).substr(0, sp)));
      r.values = {std::string(Trim(std::string_view(term).substr(sp + len)))};
      r.op = Op::kEq;
    } else {
      r.key = term;
      r.op = Op::kExists;
    }
    if (r.key.empty() || r.key.find_first_of(" =!()") != std::string::npos) {
      return Invalid("invalid label selector \"" + text + "\": invalid key");
    }
    sel.reqs_.push_back(std::move(r));
  }
  return sel;
}

Result<Selector> Selector::ParseFields(const std::string& text) {
  Selector sel;
  sel.fields_ = true;
  if (Trim(text).empty()) return sel;
  for (const auto& raw : SplitTerms(text)) {
    std::string term(Trim(raw));
    Req r;
    size_t sp;
    if ((sp = term.find("!=")) != std::string::npos) {
      r.op = Op::kNotEq;
      r.key = term.substr(0, sp);
      r.values = {term.substr(sp + 2)};
    } else if ((sp = term.find('=')) != std::string::npos) {
      size_t len = term.compare(sp, 2, "==") == 0 ? 2 : 1;
      r.op = Op::kEq;
      r.key = term.substr(0, sp);
      r.values = {term.substr(sp + len)};
    } else {
      return Invalid("invalid selector: '" + text + "'; can't understand '" + term + "'");
    }
    if (!PodField(api::Pod{}, r.key)) {
      return Invalid("field label not supported: " + r.key);
    }
    sel.reqs_.push_back(std::move(r));
  }
  return sel;
}

bool Selector::Matches(const api::Pod& pod) const {
  for (const auto& r : reqs_) {
    std::optional<std::string> v;
    if (fields_) {
      v = PodField(pod, r.key);
    } else {
      auto it = pod.metadata.labels.find(r.key);
      if (it != pod.metadata.labels.end()) v = it->second;
    }
    auto in = [&] {
      return v && std::find(r.values.begin(), r.values.end(), *v) != r.values.end();
    };
    switch (r.op) {
      case Op::kEq:
        if (!v || *v != r.values[0]) return false;
        break;
      case Op::kNotEq:  // as labels.Selector: a missing label satisfies !=
        if (v && *v == r.values[0]) return false;
        break;
      case Op::kExists:
        if (!v) return false;
        break;
      case Op::kNotExists:
        if (v) return false;
        break;
      case Op::kIn:
        if (!in()) return false;
        break;
      case Op::kNotIn:
        if (in()) return false;
        break;
    }
  }
  return true;
}

}  // namespace nanolet::server
