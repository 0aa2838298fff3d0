#include "api/yaml_json.h"

#include <cmath>
#include <cstdlib>
#include <deque>
#include <limits>
#include <map>
#include <optional>
#include <sstream>

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

namespace nanolet::api::internal {
namespace {

using nlohmann::json;

// A stop raised inside the event handler or the converter; caught in ParseYaml.
struct LimitError {
  int line;
  std::string message;
};

struct YNode {
  enum Kind { kNull, kScalar, kSeq, kMap } kind = kNull;
  bool plain = true;  // a plain (unquoted, untagged) scalar resolves to null/bool/number
  std::string value;
  int line = 0;               // 1-based
  std::vector<YNode*> items;  // seq: items; map: key, value, key, value, ...
  bool visited = false;
};

// Builds a YNode tree from parser events. Aliases share the anchored node (no expansion here).
class TreeBuilder : public YAML::EventHandler {
 public:
  explicit TreeBuilder(size_t max_events) : max_events_(max_events) {}

  YNode* root() const { return root_; }
  void OnDocumentStart(const YAML::Mark& mark) override {
    doc_pos_ = mark.pos;
    doc_line_ = mark.line + 1;
  }
  int doc_pos() const { return doc_pos_; }
  int doc_line() const { return doc_line_; }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    YNode* n = New(YNode::kNull, mark);
    Add(n, anchor);
  }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    auto it = anchors_.find(anchor);
    if (it == anchors_.end()) throw LimitError{mark.line + 1, "unknown anchor"};
    Count(mark);
    Attach(it->second);
  }
  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    YNode* n = New(YNode::kScalar, mark);
    n->value = value;
    // "?" is a plain scalar; "!" a quoted one; an explicit tag other than the core scalar types
    // (!!int,
    // !!bool, !!float, !!null) makes a string.
    n->plain = tag == "?" || tag == "tag:yaml.org,2002:int" || tag == "tag:yaml.org,2002:float" ||
               tag == "tag:yaml.org,2002:bool" || tag == "tag:yaml.org,2002:null";
    Add(n, anchor);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    YNode* n = New(YNode::kSeq, mark);
    Add(n, anchor);
    stack_.push_back(n);
  }
  void OnSequenceEnd() override { stack_.pop_back(); }
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    YNode* n = New(YNode::kMap, mark);
    Add(n, anchor);
    stack_.push_back(n);
  }
  void OnMapEnd() override { stack_.pop_back(); }

 private:
  void Count(const YAML::Mark& mark) {
    if (++events_ > max_events_) {
      throw LimitError{mark.line + 1, "document has too many nodes (more than " +
                                          std::to_string(max_events_) + ")"};
    }
  }
  YNode* New(YNode::Kind kind, const YAML::Mark& mark) {
    Count(mark);
    nodes_.emplace_back();
    YNode* n = &nodes_.back();
    n->kind = kind;
    n->line = mark.line + 1;
    return n;
  }
  void Add(YNode* n, YAML::anchor_t anchor) {
    if (anchor != 0) anchors_[anchor] = n;
    Attach(n);
  }
  void Attach(YNode* n) {
    if (stack_.empty()) {
      root_ = n;
    } else {
      stack_.back()->items.push_back(n);
    }
  }

  size_t max_events_;
  size_t events_ = 0;
  std::deque<YNode> nodes_;
  std::vector<YNode*> stack_;
  std::map<YAML::anchor_t, YNode*> anchors_;
  YNode* root_ = nullptr;
  int doc_pos_ = -1;
  int doc_line_ = 0;
};

// Replaces each invalid UTF-8 sequence with U+FFFD, as Go's JSON decoder does, so every decoded
// string can be encoded to JSON again.
std::string ValidUtf8(const std::string& s) {
  std::string out;
  size_t i = 0, n = s.size();
  bool changed = false;
  while (i < n) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t len = c < 0x80           ? 1
                 : (c >> 5) == 0x6  ? 2
                 : (c >> 4) == 0xe  ? 3
                 : (c >> 3) == 0x1e ? 4
                                    : 0;
    bool ok = len > 0 && i + len <= n;
    uint32_t cp = len == 1 ? c : len == 2 ? (c & 0x1f) : len == 3 ? (c & 0x0f) : (c & 0x07);
    for (size_t k = 1; ok && k < len; ++k) {
      unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc >> 6) != 0x2) ok = false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    if (ok) {
      // Overlong forms, surrogates and values above U+10FFFF are invalid too.
      ok = !((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
             (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff);
    }
    if (ok) {
      out.append(s, i, len);
      i += len;
    } else {
      out += "\xef\xbf\xbd";
      changed = true;
      ++i;
    }
  }
  return changed ? out : s;
}

bool IsOneOf(std::string_view s, std::initializer_list<std::string_view> set) {
  for (auto v : set) {
    if (s == v) return true;
  }
  return false;
}

// go-yaml v2 integer syntax after removing '_': ParseInt(s, 0, 64) plus the "0b" prefix.
std::optional<json> ResolveInt(std::string s) {
  std::string t;
  for (char c : s) {
    if (c != '_') t.push_back(c);
  }
  if (t.empty()) return std::nullopt;
  bool neg = false;
  size_t i = 0;
  if (t[0] == '+' || t[0] == '-') {
    neg = t[0] == '-';
    i = 1;
  }
  int base = 10;
  if (t.size() - i > 1 && t[i] == '0') {
    char p = t[i + 1];
    if (p == 'x' || p == 'X') {
      base = 16;
      i += 2;
    } else if (p == 'b' || p == 'B') {
      base = 2;
      i += 2;
    } else if (p == 'o' || p == 'O') {
      base = 8;
      i += 2;
    } else {
      base = 8;
      i += 1;
    }
  }
  if (i >= t.size()) return std::nullopt;
  unsigned __int128 v = 0;
  for (; i < t.size(); ++i) {
    char c = t[i];
    int d;
    if (c >= '0' && c <= '9') {
      d = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      d = c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
      d = c - 'A' + 10;
    } else {
      return std::nullopt;
    }
    if (d >= base) return std::nullopt;
    v = v * base + d;
    if (v > std::numeric_limits<uint64_t>::max()) return std::nullopt;  // becomes a float
  }
  if (neg) {
    if (v > static_cast<unsigned __int128>(std::numeric_limits<int64_t>::max()) + 1) {
      return std::nullopt;
    }
    return json(static_cast<int64_t>(-static_cast<__int128>(v)));
  }
  if (v <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return json(static_cast<int64_t>(v));
  }
  return json(static_cast<uint64_t>(v));
}

// ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$
bool IsYamlFloat(std::string_view s) {
  size_t i = 0, n = s.size();
  auto digits = [&] {
    size_t start = i;
    while (i < n && s[i] >= '0' && s[i] <= '9') ++i;
    return i - start;
  };
  if (i < n && (s[i] == '+' || s[i] == '-')) ++i;
  if (i < n && s[i] == '.') {
    ++i;
    if (digits() == 0) return false;
  } else {
    if (digits() == 0) return false;
    if (i < n && s[i] == '.') {
      ++i;
      digits();
    }
  }
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < n && (s[i] == '+' || s[i] == '-')) ++i;
    if (digits() == 0) return false;
  }
  return i == n;
}

// Resolves a plain scalar as go-yaml v2 does. Returns false (with a message) for values JSON cannot
// hold.
bool ResolvePlain(const std::string& v, json& out, std::string& err) {
  if (IsOneOf(v, {"", "~", "null", "Null", "NULL"})) {
    out = nullptr;
    return true;
  }
  if (IsOneOf(v, {"y", "Y", "yes", "Yes", "YES", "on", "On", "ON", "true", "True", "TRUE"})) {
    out = true;
    return true;
  }
  if (IsOneOf(v, {"n", "N", "no", "No", "NO", "off", "Off", "OFF", "false", "False", "FALSE"})) {
    out = false;
    return true;
  }
  if (IsOneOf(v, {".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF",
                  ".nan", ".NaN", ".NAN"})) {
    err = "json: unsupported value: " + v;
    return false;
  }
  char c = v[0];
  if ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.') {
    if (auto i = ResolveInt(v)) {
      out = std::move(*i);
      return true;
    }
    std::string t;
    for (char ch : v) {
      if (ch != '_') t.push_back(ch);
    }
    if (IsYamlFloat(t)) {
      double d = std::strtod(t.c_str(), nullptr);
      if (!std::isfinite(d)) {
        err = "json: unsupported value: " + v;
        return false;
      }
      // As Go's YAMLToJSON writes float64: integral values become JSON integers.
      if (std::floor(d) == d && std::fabs(d) < 9.0e15) {
        out = static_cast<int64_t>(d);
      } else {
        out = d;
      }
      return true;
    }
  }
  out = ValidUtf8(v);
  return true;
}

class Converter {
 public:
  Converter(const YamlLimits& limits, YamlDoc& doc) : limits_(limits), doc_(doc) {}

  json Convert(YNode* n, const std::string& path, int depth, bool via_alias) {
    if (depth > limits_.max_depth) {
      throw LimitError{n->line, "nesting depth exceeds " + std::to_string(limits_.max_depth)};
    }
    bool alias = via_alias || n->visited;
    n->visited = true;
    ++count_;
    if (alias) ++alias_count_;
    if (count_ > limits_.max_nodes) {
      throw LimitError{n->line, "document has too many nodes after alias expansion (more than " +
                                    std::to_string(limits_.max_nodes) + ")"};
    }
    // As go-yaml v2: refuse documents that are mostly alias expansions (billion laughs).
    if (alias_count_ > 100 && count_ > 1000 &&
        static_cast<double>(alias_count_) / static_cast<double>(count_) > AllowedAliasRatio()) {
      throw LimitError{n->line, "document contains excessive aliasing"};
    }
    if (!doc_.lines.count(path)) doc_.lines[path] = n->line;
    switch (n->kind) {
      case YNode::kNull:
        return nullptr;
      case YNode::kScalar: {
        if (!n->plain) return ValidUtf8(n->value);
        json out;
        std::string err;
        if (!ResolvePlain(n->value, out, err)) throw LimitError{n->line, err};
        return out;
      }
      case YNode::kSeq: {
        json arr = json::array();
        for (size_t i = 0; i < n->items.size(); ++i) {
          arr.push_back(Convert(n->items[i], JoinIndex(path, i), depth + 1, alias));
        }
        return arr;
      }
      case YNode::kMap: {
        json obj = json::object();
        std::vector<YNode*> merges;
        for (size_t i = 0; i + 1 < n->items.size(); i += 2) {
          YNode* k = n->items[i];
          YNode* v = n->items[i + 1];
          std::string key;
          if (k->kind == YNode::kScalar) {
            if (k->plain && k->value == "<<") {
              merges.push_back(v);
              continue;
            }
            key = ValidUtf8(k->value);
          } else if (k->kind == YNode::kNull) {
            key = "null";
          } else {
            throw LimitError{k->line, "unsupported map key: a key must be a scalar"};
          }
          std::string child = JoinKey(path, key);
          if (obj.contains(key)) {
            doc_.warnings.emplace_back(k->line, "duplicate field \"" + child + "\"");
          }
          doc_.lines[child] = k->line;
          obj[key] = Convert(v, child, depth + 1, alias);
        }
        // YAML merge keys: keys of the merged maps that the map does not set itself.
        for (YNode* m : merges) {
          std::vector<YNode*> sources;
          if (m->kind == YNode::kMap) {
            sources.push_back(m);
          } else if (m->kind == YNode::kSeq) {
            sources = m->items;
          }
          for (YNode* src : sources) {
            json merged = Convert(src, path, depth + 1, true);
            if (!merged.is_object()) {
              throw LimitError{m->line, "map merge requires map or sequence of maps as the value"};
            }
            for (auto& [k, v] : merged.items()) {
              if (!obj.contains(k)) obj[k] = v;
            }
          }
        }
        return obj;
      }
    }
    return nullptr;
  }

 private:
  double AllowedAliasRatio() const {
    constexpr double kLow = 400000, kHigh = 4000000;
    if (count_ <= kLow) return 0.99;
    if (count_ >= kHigh) return 0.10;
    return 0.99 - 0.89 * ((static_cast<double>(count_) - kLow) / (kHigh - kLow));
  }

  const YamlLimits& limits_;
  YamlDoc& doc_;
  size_t count_ = 0;
  size_t alias_count_ = 0;
};

// A quick scan for nesting far beyond the limit, so the parser's recursion never sees it: flow
// brackets opened at value positions and block indentation levels (including "- - -" on one line).
std::optional<LimitError> PrescanDepth(std::string_view data, int max_depth) {
  const int limit = max_depth * 2 + 10;
  int flow = 0;
  int line = 1;
  std::vector<size_t> indents;
  size_t i = 0, n = data.size();
  while (i < n) {
    // Start of a line: indentation.
    size_t col = 0;
    while (i < n && data[i] == ' ') {
      ++i;
      ++col;
    }
    if (i < n && data[i] != '\n' && data[i] != '#' && data[i] != '\r' && flow == 0) {
      while (!indents.empty() && indents.back() >= col) indents.pop_back();
      indents.push_back(col);
    }
    int dashes = 0;
    bool value_start = true;
    char quote = 0;
    for (; i < n && data[i] != '\n'; ++i) {
      char c = data[i];
      if (quote) {
        if (c == quote) quote = 0;
        continue;
      }
      if (c == '#' && (i == 0 || data[i - 1] == ' ' || data[i - 1] == '\t')) {
        while (i < n && data[i] != '\n') ++i;
        break;
      }
      if ((c == '"' || c == '\'') && value_start) {
        quote = c;
        value_start = false;
        continue;
      }
      if ((c == '[' || c == '{') && (value_start || flow > 0)) {
        ++flow;
        value_start = true;
      } else if ((c == ']' || c == '}') && flow > 0) {
        --flow;
        value_start = false;
      } else if (c == '-' && value_start && flow == 0 && i + 1 < n &&
                 (data[i + 1] == ' ' || data[i + 1] == '\n')) {
        ++dashes;
      } else if (c == ',' ||
                 (c == ':' && i + 1 < n && (data[i + 1] == ' ' || data[i + 1] == '\n'))) {
        value_start = true;
      } else if (c != ' ' && c != '\t') {
        value_start = false;
      }
      if (flow > limit || static_cast<int>(indents.size()) + dashes > limit) {
        return LimitError{line, "nesting depth exceeds " + std::to_string(max_depth)};
      }
    }
    ++i;  // newline
    ++line;
  }
  return std::nullopt;
}

// go-yaml's words (what kubectl users see) for yaml-cpp's most common syntax errors.
std::string GoYamlWording(const std::string& msg) {
  static const std::pair<std::string_view, std::string_view> kWords[] = {
      {YAML::ErrorMsg::MAP_VALUE, "mapping values are not allowed in this context"},
      {YAML::ErrorMsg::END_OF_MAP, "did not find expected key"},
      {YAML::ErrorMsg::END_OF_SEQ, "did not find expected '-' indicator"},
      {YAML::ErrorMsg::END_OF_MAP_FLOW, "did not find expected ',' or '}'"},
      {YAML::ErrorMsg::END_OF_SEQ_FLOW, "did not find expected ',' or ']'"},
      {YAML::ErrorMsg::UNKNOWN_ANCHOR, "unknown anchor referenced"},
  };
  for (const auto& [from, to] : kWords) {
    if (msg == from) return std::string(to);
  }
  return msg;
}

bool LineIndentedWithTab(std::string_view data, int line) {
  if (line <= 0) return false;
  size_t pos = 0;
  for (int l = 1; l < line; ++l) {
    pos = data.find('\n', pos);
    if (pos == std::string_view::npos) return false;
    ++pos;
  }
  for (; pos < data.size() && (data[pos] == ' ' || data[pos] == '\t'); ++pos) {
    if (data[pos] == '\t') return true;
  }
  return false;
}

}  // namespace

YamlParse ParseYaml(std::string_view data, const YamlLimits& limits) {
  YamlParse result;
  if (auto err = PrescanDepth(data, limits.max_depth)) {
    result.failed = true;
    result.error_line = err->line;
    result.error = err->message;
    return result;
  }
  std::istringstream in{std::string(data)};
  try {
    YAML::Parser parser(in);
    size_t total = 0;
    size_t documents = 0;
    int last_pos = -1;
    while (true) {
      TreeBuilder builder(limits.max_nodes);
      if (!parser.HandleNextDocument(builder)) break;
      // yaml-cpp 0.7 yields endless empty documents without consuming input after some malformed
      // top-level flow content ("[a], b"): stop when a document does not advance.
      if (builder.doc_pos() <= last_pos || ++documents > data.size() + 1) {
        throw LimitError{builder.doc_line(), "yaml: did not find expected <document start>"};
      }
      last_pos = builder.doc_pos();
      // An empty document (nothing, or only null) yields no object.
      if (builder.root() == nullptr || builder.root()->kind == YNode::kNull) continue;
      YamlDoc doc;
      doc.line = builder.root()->line;
      Converter conv(limits, doc);
      doc.value = conv.Convert(builder.root(), "", 0, false);
      total += doc.lines.size() + 1;
      if (total > limits.max_nodes) {
        throw LimitError{doc.line,
                         "too many nodes (more than " + std::to_string(limits.max_nodes) + ")"};
      }
      result.docs.push_back(std::move(doc));
    }
  } catch (const LimitError& e) {
    result.failed = true;
    result.error_line = e.line;
    result.error = e.message;
  } catch (const YAML::Exception& e) {
    result.failed = true;
    result.error_line = e.mark.is_null() ? 0 : e.mark.line + 1;
    result.error = "yaml: " + GoYamlWording(e.msg);
    if (LineIndentedWithTab(data, result.error_line)) {
      result.error += " (tabs are not allowed for indentation)";
    }
  } catch (const std::exception& e) {
    result.failed = true;
    result.error = std::string("yaml: ") + e.what();
  }
  return result;
}

}  // namespace nanolet::api::internal

namespace nanolet::api::internal {
bool PlainScalarIsString(const std::string& s) {
  json out;
  std::string err;
  if (!ResolvePlain(s, out, err)) return false;
  return out.is_string();
}
}  // namespace nanolet::api::internal
