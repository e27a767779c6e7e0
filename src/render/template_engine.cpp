#include "render/template_engine.h"

#include <algorithm>
#include <charconv>
#include <kainjow/mustache.hpp>

#include "render/markdown.h"

namespace forgehand::render {

namespace {

using json = nlohmann::json;
namespace mustache = kainjow::mustache;

// A check walks every branch and every list item, so it visits at least the tags a render would;
// bounding it bounds rendering too (a template nesting a list's section in itself grows as
// items^depth).
constexpr std::size_t kMaxCheckSteps = 100'000;
constexpr int kMaxPartialDepth = 4;

std::string located(std::string_view name, int line, std::string_view message) {
  return "template " + std::string(name) + ", line " + std::to_string(line) + ": " +
         std::string(message);
}

std::string_view trim(std::string_view text) {
  constexpr std::string_view kSpace = " \t\n\v\f\r";  // std::isspace, as kainjow trims
  std::size_t first = text.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(kSpace) - first + 1);
}

std::string normalize(std::string_view text) {
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
  std::string out;
  out.reserve(text.size());
  for (std::size_t pos = 0; pos < text.size(); ++pos) {
    if (text[pos] != '\r') {
      out += text[pos];
    } else {
      out += '\n';
      if (pos + 1 < text.size() && text[pos + 1] == '\n') ++pos;
    }
  }
  return out;
}

int line_at(std::string_view text, std::size_t pos) {
  pos = std::min(pos, text.size());
  return 1 + static_cast<int>(std::count(text.begin(), text.begin() + pos, '\n'));
}

// kainjow reports a byte offset ("Unclosed tag at 12"); people need a line.
std::string kainjow_error(std::string_view name, std::string_view text,
                          const std::string& message) {
  std::size_t at = message.rfind(" at ");
  std::size_t pos = 0;
  if (at != std::string::npos) {
    std::string_view digits = std::string_view(message).substr(at + 4);
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), pos);
    if (ec == std::errc{} && end == digits.data() + digits.size()) {
      return located(name, line_at(text, pos), message.substr(0, at));
    }
  }
  return "template " + std::string(name) + ": " + message;
}

bool valid_delimiter(std::string_view delimiter) {
  return !delimiter.empty() && delimiter.find_first_of("= \t\n\v\f\r") == std::string_view::npos;
}

// The scanner follows kainjow's parser (tags, triple braces only with the default delimiters,
// set-delimiter tags, sigils), adding the line of each tag and stricter errors.
Result<std::vector<Tag>> scan(std::string_view name, std::string_view text) {
  struct Open {
    std::vector<Tag>* children;
    std::string name;
    int line;
  };
  std::vector<Tag> root;
  std::vector<Open> open;
  std::string begin = "{{";
  std::string end = "}}";
  int line = 1;
  auto current = [&]() -> std::vector<Tag>& { return open.empty() ? root : *open.back().children; };
  auto error = [&](int at, std::string_view message) {
    return fail(ErrorCode::malformed, located(name, at, message));
  };

  for (std::size_t pos = 0;;) {
    std::size_t start = text.find(begin, pos);
    if (start == std::string_view::npos) break;
    line += static_cast<int>(std::count(text.begin() + pos, text.begin() + start, '\n'));
    int tag_line = line;
    std::size_t content = start + begin.size();
    bool triple = begin == "{{" && end == "}}" && content < text.size() && text[content] == '{';
    if (triple) ++content;
    std::string_view close = triple ? std::string_view("}}}") : std::string_view(end);
    std::size_t finish = text.find(close, content);
    if (finish == std::string_view::npos) return error(tag_line, "a tag opened here is not closed");
    std::string_view raw = text.substr(content, finish - content);
    line += static_cast<int>(std::count(raw.begin(), raw.end(), '\n'));
    pos = finish + close.size();
    std::string_view body = trim(raw);

    if (!triple && body.starts_with('=')) {
      if (body.size() < 3 || !body.ends_with('=')) return error(tag_line, "bad delimiter tag");
      std::string_view inner = trim(body.substr(1, body.size() - 2));
      std::size_t space = inner.find(' ');
      if (space == std::string_view::npos) return error(tag_line, "bad delimiter tag");
      std::string_view new_begin = inner.substr(0, space);
      std::string_view new_end = trim(inner.substr(space));
      if (!valid_delimiter(new_begin) || !valid_delimiter(new_end)) {
        return error(tag_line, "bad delimiter tag");
      }
      begin = new_begin;
      end = new_end;
      continue;
    }

    Tag tag;
    tag.line = tag_line;
    char sigil = triple || body.empty() ? 0 : body.front();
    switch (sigil) {
      case '#':
        tag.kind = Tag::Kind::section;
        break;
      case '^':
        tag.kind = Tag::Kind::inverted;
        break;
      case '>':
        tag.kind = Tag::Kind::partial;
        break;
      case '&':
        tag.kind = Tag::Kind::unescaped;
        break;
      case '/':
      case '!':
        break;
      default:
        tag.kind = triple ? Tag::Kind::unescaped : Tag::Kind::variable;
    }
    if (sigil == '!') continue;
    tag.name = std::string(sigil == 0 || std::string_view("#^>&/").find(sigil) == std::string::npos
                               ? body
                               : trim(body.substr(1)));
    if (tag.name.empty()) return error(tag_line, "a tag without a name");

    if (sigil == '/') {
      if (open.empty()) {
        return error(tag_line, "{{/" + tag.name + "}} closes a section that is not open");
      }
      if (open.back().name != tag.name) {
        return error(tag_line, "{{/" + tag.name + "}} closes the section {{#" + open.back().name +
                                   "}} opened on line " + std::to_string(open.back().line));
      }
      open.pop_back();
      continue;
    }
    bool opens = tag.kind == Tag::Kind::section || tag.kind == Tag::Kind::inverted;
    current().push_back(std::move(tag));
    if (opens) {
      if (open.size() >= Template::kMaxDepth) {
        return error(tag_line,
                     "sections nest more than " + std::to_string(Template::kMaxDepth) + " deep");
      }
      Tag& section = current().back();
      open.push_back({&section.children, section.name, section.line});
    }
  }
  if (!open.empty()) {
    return error(open.back().line, "the section {{#" + open.back().name + "}} is not closed");
  }
  return root;
}

const json* resolve(const std::vector<const json*>& stack, std::string_view name) {
  if (name == ".") return stack.back();
  std::vector<std::string_view> segments;
  for (std::size_t pos = 0;;) {
    std::size_t dot = name.find('.', pos);
    segments.push_back(name.substr(pos, dot == std::string_view::npos ? dot : dot - pos));
    if (segments.back().empty()) return nullptr;
    if (dot == std::string_view::npos) break;
    pos = dot + 1;
  }
  for (auto item = stack.rbegin(); item != stack.rend(); ++item) {
    const json* value = *item;
    for (std::string_view segment : segments) {
      if (!value->is_object()) {
        value = nullptr;
        break;
      }
      auto found = value->find(segment);
      value = found == value->end() ? nullptr : &*found;
      if (value == nullptr) break;
    }
    if (value != nullptr) return value;
  }
  return nullptr;
}

class Checker {
 public:
  explicit Checker(const Partials& partials) : partials_(partials) {}

  Result<void> walk(const Template& tmpl, const std::vector<Tag>& tags,
                    std::vector<const json*>& stack, int partial_depth) {
    for (const Tag& tag : tags) {
      if (++steps_ > kMaxCheckSteps) {
        return fail(ErrorCode::invalid_argument,
                    located(tmpl.name(), tag.line,
                            "too much to render (sections nested over lists); simplify the "
                            "template"));
      }
      auto error = [&](std::string_view message) {
        return fail(ErrorCode::invalid_argument, located(tmpl.name(), tag.line, message));
      };
      if (tag.kind == Tag::Kind::partial) {
        auto partial = partials_.find(tag.name);
        if (partial == partials_.end()) return error("unknown partial `" + tag.name + "`");
        if (partial_depth >= kMaxPartialDepth) {
          return error("partials include each other too deeply at `" + tag.name + "`");
        }
        const Template& included = *partial->second;
        if (auto ok = walk(included, included.tags(), stack, partial_depth + 1); !ok) return ok;
        continue;
      }
      const json* value = resolve(stack, tag.name);
      if (value == nullptr || value->is_null()) {
        return error("unknown variable `" + tag.name + "`");
      }
      switch (tag.kind) {
        case Tag::Kind::variable:
        case Tag::Kind::unescaped:
          if (value->is_array() || value->is_object()) {
            return error("`" + tag.name + "` is " + (value->is_array() ? "a list" : "an object") +
                         ", not text; use {{#" + tag.name + "}}...{{/" + tag.name + "}}");
          }
          break;
        case Tag::Kind::section:
          if (value->is_array()) {
            for (const json& item : *value) {
              stack.push_back(&item);
              auto ok = walk(tmpl, tag.children, stack, partial_depth);
              stack.pop_back();
              if (!ok) return ok;
            }
          } else {
            stack.push_back(value);
            auto ok = walk(tmpl, tag.children, stack, partial_depth);
            stack.pop_back();
            if (!ok) return ok;
          }
          break;
        case Tag::Kind::inverted:
          if (auto ok = walk(tmpl, tag.children, stack, partial_depth); !ok) return ok;
          break;
        case Tag::Kind::partial:
          break;
      }
    }
    return {};
  }

 private:
  const Partials& partials_;
  std::size_t steps_ = 0;
};

mustache::data to_mustache(const json& value) {
  switch (value.type()) {
    case json::value_t::object: {
      mustache::data object{mustache::data::type::object};
      for (const auto& [key, item] : value.items()) object.set(key, to_mustache(item));
      return object;
    }
    case json::value_t::array: {
      mustache::data list{mustache::data::type::list};
      for (const json& item : value) list.push_back(to_mustache(item));
      return list;
    }
    case json::value_t::string: {
      const std::string& text = value.get_ref<const std::string&>();
      return text.empty() ? mustache::data{false} : mustache::data{text};
    }
    case json::value_t::boolean:
      return mustache::data{value.get<bool>()};
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
      return mustache::data{value.dump()};
    default:
      return mustache::data{false};
  }
}

// kainjow looks partials up in the data; these live beside it, so a partial and a variable may
// share a name (`{{> attribution}}` and `{{#attribution}}`).
class PartialContext final : public mustache::context<std::string> {
 public:
  PartialContext(const mustache::data* data, const std::map<std::string, mustache::data>& partials)
      : mustache::context<std::string>(data), partials_(partials) {}

  const mustache::data* get_partial(const std::string& name) const override {
    auto found = partials_.find(name);
    return found == partials_.end() ? nullptr : &found->second;
  }

 private:
  const std::map<std::string, mustache::data>& partials_;
};

struct OutputTooLarge {};

// kainjow writes through `stream << piece`; this stops a render that outgrows its bound.
struct CappedOutput {
  std::string text;
  std::size_t cap = 0;

  CappedOutput& operator<<(const std::string& piece) {
    if (text.size() + piece.size() > cap) throw OutputTooLarge{};
    text += piece;
    return *this;
  }
};

}  // namespace

Result<Template> Template::parse(std::string name, std::string_view text) {
  if (text.size() > kMaxBytes) {
    return fail(ErrorCode::payload_too_large,
                "template " + name + ": " + std::to_string(text.size()) +
                    " bytes, over the limit of " + std::to_string(kMaxBytes));
  }
  Template result;
  result.name_ = std::move(name);
  result.text_ = normalize(text);
  auto tags = scan(result.name_, result.text_);
  if (!tags) return tl::unexpected(tags.error());
  result.tags_ = std::move(*tags);
  try {
    mustache::mustache engine{result.text_};
    if (!engine.is_valid()) {
      return fail(ErrorCode::malformed,
                  kainjow_error(result.name_, result.text_, engine.error_message()));
    }
  } catch (const std::exception& e) {
    return fail(ErrorCode::malformed, "template " + result.name_ + ": " + e.what());
  }
  return result;
}

Result<void> check_template(const Template& tmpl, const json& data, const Partials& partials) {
  std::vector<const json*> stack{&data};
  return Checker(partials).walk(tmpl, tmpl.tags(), stack, 0);
}

Result<std::string> render_template(const Template& tmpl, const json& data,
                                    const Partials& partials, std::size_t max_output_bytes) {
  if (auto ok = check_template(tmpl, data, partials); !ok) return tl::unexpected(ok.error());
  try {
    mustache::data view = to_mustache(data);
    std::map<std::string, mustache::data> partial_texts;
    for (const auto& [name, partial] : partials) {
      partial_texts.emplace(name, mustache::data{partial->text()});
    }
    PartialContext context(&view, partial_texts);
    mustache::mustache engine{tmpl.text()};
    engine.set_custom_escape([](const std::string& text) { return escape_text(text); });
    CappedOutput out{{}, max_output_bytes};
    engine.render(context, out);
    if (!engine.is_valid()) {
      return fail(ErrorCode::malformed,
                  kainjow_error(tmpl.name(), tmpl.text(), engine.error_message()));
    }
    return std::move(out.text);
  } catch (const OutputTooLarge&) {
    return fail(ErrorCode::payload_too_large, "template " + tmpl.name() + ": the output passed " +
                                                  std::to_string(max_output_bytes) + " bytes");
  } catch (const std::exception& e) {
    return fail(ErrorCode::internal, "template " + tmpl.name() + ": " + e.what());
  }
}

}  // namespace forgehand::render
