#include "render/views.h"

#include <algorithm>
#include <cstdio>

#include "render/markdown.h"

namespace forgehand::render {

namespace {

using json = nlohmann::json;

// A plain field is a line of a sentence or a table cell; past this it is cut, so only the
// free-text fields that render.cpp shrinks can make a comment long.
constexpr std::size_t kMaxPlainBytes = 1000;

std::string plain(std::string_view text) {
  std::string clean = clean_text(text);
  std::string out;
  out.reserve(clean.size());
  for (char c : clean) {
    bool space = c == ' ' || c == '\t' || c == '\n';
    if (space && (out.empty() || out.back() == ' ')) continue;
    out += space ? ' ' : c;
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return cut_text(out, kMaxPlainBytes, Keep::start);
}

std::string markdown(std::string_view text) {
  std::string out = sanitize_markdown(text);
  std::size_t end = out.find_last_not_of(" \t\n");
  out.erase(end == std::string::npos ? 0 : end + 1);
  std::size_t begin = 0;
  while (begin < out.size() && out[begin] == '\n') ++begin;
  return out.substr(begin);
}

// A link target: only http(s), so a `javascript:` or relative URL from a payload never becomes a
// link in a comment.
std::string url(std::string_view text) {
  std::string clean = plain(text);
  bool web = clean.starts_with("https://") || clean.starts_with("http://");
  return web && clean.find(' ') == std::string::npos ? clean : std::string();
}

// For a preview already made safe for a code span (commands::safe_preview); a stray backtick or
// line break still cannot end the span.
std::string code_span(std::string_view text) {
  std::string inner = clean_text(text);
  std::replace(inner.begin(), inner.end(), '`', '\'');
  std::replace(inner.begin(), inner.end(), '\n', ' ');
  return "`" + inner + "`";
}

json forge_terms(ForgeKind forge) {
  bool gitlab = forge == ForgeKind::gitlab;
  std::string_view name = "GitHub";
  if (forge == ForgeKind::gitlab) name = "GitLab";
  if (forge == ForgeKind::gitea) name = "Gitea";
  if (forge == ForgeKind::forgejo) name = "Forgejo";
  return {{"name", name},
          {"pull_request", gitlab ? "merge request" : "pull request"},
          {"pull_request_short", gitlab ? "MR" : "PR"},
          // GitLab numbers merge requests apart from issues and writes them !N.
          {"pull_request_sigil", gitlab ? "!" : "#"}};
}

json base(std::string_view bot, std::string_view requester, ForgeKind forge) {
  return {{"forge", forge_terms(forge)}, {"bot", plain(bot)}, {"requester", plain(requester)}};
}

std::string pull_request_reference(std::int64_t number, ForgeKind forge) {
  return (forge == ForgeKind::gitlab ? "!" : "#") + std::to_string(number);
}

// Items of a list a template joins inline get `last`, so "a, b, c" needs no trailing separator.
json named_list(const std::vector<std::string>& names) {
  json list = json::array();
  for (std::size_t i = 0; i < names.size(); ++i) {
    list.push_back({{"name", plain(names[i])}, {"last", i + 1 == names.size()}});
  }
  return list;
}

json text_list(const std::vector<std::string>& texts) {
  json list = json::array();
  for (const std::string& text : texts) list.push_back({{"text", plain(text)}});
  return list;
}

std::string removal_words(commands::HiddenKind kind, bool one) {
  using commands::HiddenKind;
  switch (kind) {
    case HiddenKind::html_comment:
      return one ? "HTML comment" : "HTML comments";
    case HiddenKind::collapsed_details:
      return one ? "collapsed <details> block" : "collapsed <details> blocks";
    case HiddenKind::tag_character:
      return one ? "invisible tag character" : "invisible tag characters";
    case HiddenKind::bidi_control:
      return one ? "bidi control character" : "bidi control characters";
    case HiddenKind::zero_width:
      return one ? "zero-width or invisible character" : "zero-width or invisible characters";
    case HiddenKind::control_character:
      return one ? "control character" : "control characters";
    case HiddenKind::invalid_utf8:
      return one ? "byte that is not UTF-8" : "bytes that are not UTF-8";
  }
  return "hidden text";
}

json removed_list(const std::vector<commands::Removal>& removed) {
  json list = json::array();
  for (const commands::Removal& removal : removed) {
    json previews = json::array();
    for (std::size_t i = 0; i < removal.previews.size(); ++i) {
      previews.push_back({{"code_md", code_span(removal.previews[i])},
                          {"last", i + 1 == removal.previews.size()}});
    }
    list.push_back({{"kind", std::string(commands::to_string(removal.kind))},
                    {"count", format_count(static_cast<std::int64_t>(removal.count))},
                    {"summary", format_count(static_cast<std::int64_t>(removal.count)) + " " +
                                    removal_words(removal.kind, removal.count == 1)},
                    {"has_previews", !previews.empty()},
                    {"previews", std::move(previews)}});
  }
  return list;
}

json attribution_data(const AttributionView& view) {
  json tried = json::array();
  for (const FailoverView& failover : view.tried_first) {
    tried.push_back({{"provider", plain(failover.provider)},
                     {"model", plain(failover.model)},
                     {"endpoint_host", plain(failover.endpoint_host)},
                     {"reason", plain(failover.reason)},
                     {"times", format_count(failover.times)},
                     {"repeated", failover.times > 1}});
  }
  json also = json::array();
  for (const AnsweredView& answered : view.also_answered) {
    also.push_back({{"provider", plain(answered.provider)},
                    {"model", plain(answered.model)},
                    {"endpoint_host", plain(answered.endpoint_host)},
                    {"calls", format_count(answered.calls)}});
  }
  return {{"answered", view.answered},
          {"provider", plain(view.provider)},
          {"model", plain(view.model)},
          {"endpoint_host", plain(view.endpoint_host)},
          {"route", plain(view.route)},
          {"has_failovers", !tried.empty()},
          {"tried_first", std::move(tried)},
          {"has_also_answered", !also.empty()},
          {"also_answered", std::move(also)},
          {"calls", format_count(view.calls)},
          {"input_tokens", format_count(view.input_tokens)},
          {"output_tokens", format_count(view.output_tokens)},
          {"cost", format_cost(view.cost, plain(view.currency))},
          {"runner_time", format_duration(view.runner_time)},
          {"session_id", plain(view.session_id)},
          {"requester", plain(view.requester)}};
}

}  // namespace

AttributionView make_attribution(const std::vector<providers::ProviderCall>& calls,
                                 SessionFacts facts) {
  AttributionView view;
  view.route = std::move(facts.route);
  view.runner_time = facts.runner_time;
  view.session_id = std::move(facts.session_id);
  view.requester = std::move(facts.requester);
  view.currency = std::move(facts.currency);

  auto answered = [](const providers::ProviderCall& call) { return call.error.empty(); };
  auto last = std::find_if(calls.rbegin(), calls.rend(), answered);
  if (last != calls.rend()) {
    view.answered = true;
    view.provider = last->provider;
    view.model = last->model;
    view.endpoint_host = last->endpoint_host;
  }
  for (const providers::ProviderCall& call : calls) {
    ++view.calls;
    view.input_tokens += call.usage.input_tokens;
    view.output_tokens += call.usage.output_tokens;
    view.cost += call.cost;
    if (answered(call)) {
      bool final_model = call.provider == view.provider && call.model == view.model &&
                         call.endpoint_host == view.endpoint_host;
      if (final_model) continue;
      auto same = std::find_if(view.also_answered.begin(), view.also_answered.end(),
                               [&](const AnsweredView& a) {
                                 return a.provider == call.provider && a.model == call.model &&
                                        a.endpoint_host == call.endpoint_host;
                               });
      if (same != view.also_answered.end()) {
        ++same->calls;
      } else {
        view.also_answered.push_back({call.provider, call.model, call.endpoint_host, 1});
      }
      continue;
    }
    std::string reason = call.failover_reason.empty() ? call.error : call.failover_reason;
    auto same =
        std::find_if(view.tried_first.begin(), view.tried_first.end(), [&](const FailoverView& f) {
          return f.provider == call.provider && f.model == call.model &&
                 f.endpoint_host == call.endpoint_host && f.reason == reason;
        });
    if (same != view.tried_first.end()) {
      ++same->times;
    } else {
      view.tried_first.push_back(
          {call.provider, call.model, call.endpoint_host, std::move(reason), 1});
    }
  }
  return view;
}

json to_data(const AcknowledgementView& view, ForgeKind forge) {
  json data = base(view.bot, view.requester, forge);
  data["session_id"] = plain(view.session_id);
  data["verb"] = std::string(commands::to_string(view.verb));
  data["instructions_md"] = markdown(view.instructions);
  data["has_removed"] = !view.removed.empty();
  data["removed"] = removed_list(view.removed);
  data["route"] = plain(view.route);
  data["route_providers"] = named_list(view.route_providers);
  data["has_not_applied"] = !view.not_applied.empty();
  json not_applied = json::array();
  for (const std::string& line : view.not_applied) not_applied.push_back({{"text", plain(line)}});
  data["not_applied"] = std::move(not_applied);
  return data;
}

json to_data(const ProgressView& view, ForgeKind forge) {
  json data = base(view.bot, view.requester, forge);
  data["session_id"] = plain(view.session_id);
  data["route"] = plain(view.route);
  data["stage"] = plain(view.stage);
  data["elapsed"] = format_duration(view.elapsed);
  json steps = json::array();
  for (const ProgressStep& step : view.steps) {
    steps.push_back({{"text", plain(step.text)}, {"done", step.done}});
  }
  data["steps"] = std::move(steps);
  return data;
}

json to_data(const ResultView& view, ForgeKind forge) {
  json data = base(view.bot, view.requester, forge);
  data["session_id"] = plain(view.session_id);
  data["summary_md"] = markdown(view.summary);
  data["has_pull_request"] = view.pull_request.has_value();
  PullRequestLink link = view.pull_request.value_or(PullRequestLink{});
  data["pull_request"] = {{"number", std::to_string(link.number)},
                          {"reference", pull_request_reference(link.number, forge)},
                          {"url", url(link.url)},
                          {"title", plain(link.title)}};
  data["attribution"] = attribution_data(view.attribution);
  return data;
}

json to_data(const FailureView& view, ForgeKind forge) {
  json data = base(view.bot, view.requester, forge);
  data["session_id"] = plain(view.session_id);
  data["what"] = plain(view.what);
  bool has_excerpt = view.excerpt.find_first_not_of(" \t\r\n") != std::string::npos;
  data["excerpt_md"] = has_excerpt ? code_block(view.excerpt) : "";
  data["has_attribution"] = view.attribution.has_value();
  AttributionView none;
  none.session_id = view.session_id;
  none.requester = view.requester;
  data["attribution"] = attribution_data(view.attribution.value_or(none));
  return data;
}

json to_data(const DeniedView& view, ForgeKind forge) {
  json data = base(view.bot, view.requester, forge);
  data["request"] = plain(view.request);
  data["reasons"] = text_list(view.reasons);
  return data;
}

json to_data(const HelpView& view, ForgeKind forge) {
  json data = base(view.bot, view.requester, forge);
  data["problem_md"] = markdown(view.problem);
  data["suggestion"] = plain(view.suggestion);
  data["has_removed"] = !view.removed.empty();
  data["removed"] = removed_list(view.removed);
  return data;
}

json to_data(const ExplainView& view, ForgeKind forge) {
  json data = base(view.bot, view.requester, forge);
  data["allowed"] = view.allowed;
  data["task"] = plain(view.task);
  data["route"] = plain(view.route);
  data["route_providers"] = named_list(view.route_providers);
  data["reasons"] = text_list(view.reasons);
  json limits = json::array();
  for (const LimitView& limit : view.limits) {
    limits.push_back({{"name", plain(limit.name)}, {"value", plain(limit.value)}});
  }
  data["has_limits"] = !limits.empty();
  data["limits"] = std::move(limits);
  return data;
}

json to_data(const PullRequestBodyView& view, ForgeKind forge) {
  json data = base(view.bot, view.requester, forge);
  data["session_id"] = plain(view.session_id);
  data["summary_md"] = markdown(view.summary);
  data["task_md"] = markdown(view.task);
  bool issue = view.source.kind == TaskSource::Kind::issue;
  // Issues are #N on every forge, GitLab included; only its merge requests are !N.
  std::string reference = issue ? "#" + std::to_string(view.source.number)
                                : pull_request_reference(view.source.number, forge);
  data["source"] = {{"kind", issue ? json("issue") : forge_terms(forge)["pull_request"]},
                    {"reference", reference},
                    {"url", url(view.source.url)}};
  data["closes_issue"] = issue ? reference : "";
  data["attribution"] = attribution_data(view.attribution);
  return data;
}

std::string format_count(std::int64_t value) {
  std::uint64_t magnitude = value < 0 ? 0 - static_cast<std::uint64_t>(value) : value;
  std::string digits = std::to_string(magnitude);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return value < 0 ? "-" + out : out;
}

std::string format_cost(double cost, std::string_view currency) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.4f", cost);
  std::string out = buffer;
  if (!currency.empty()) out += " " + std::string(currency);
  return out;
}

std::string format_duration(std::chrono::seconds duration) {
  std::int64_t total = std::max<std::int64_t>(0, duration.count());
  std::int64_t hours = total / 3600;
  std::int64_t minutes = total / 60 % 60;
  std::int64_t seconds = total % 60;
  std::string out;
  auto part = [&](std::int64_t value, std::string_view unit) {
    if (value == 0) return;
    if (!out.empty()) out += ' ';
    out += std::to_string(value) + " " + std::string(unit);
  };
  part(hours, "h");
  part(minutes, "min");
  part(seconds, "s");
  return out.empty() ? "0 s" : out;
}

}  // namespace forgehand::render
