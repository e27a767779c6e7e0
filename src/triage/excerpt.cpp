#include "triage/excerpt.h"

#include <algorithm>
#include <set>
#include <vector>

#include "triage/normalize.h"
#include "triage/signatures.h"

namespace forgehand::triage {
namespace {

// A longer line (minified code, a JSON dump) is cut in its middle: its start says what it is.
constexpr std::size_t kMaxLineBytes = 1024;
// Lines below a report that still belong to it (a stack trace, a diff) are followed this far.
constexpr std::size_t kMaxFollow = 40;
constexpr std::size_t kContextAbove = 3;
constexpr int kMinScore = 4;

bool is_continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

std::string gap_marker(std::size_t lines) {
  return "[... " + std::to_string(lines) + (lines == 1 ? " line" : " lines") + " omitted ...]";
}
std::string repeat_marker(std::size_t times) {
  return "[previous line repeated " + std::to_string(times) + " more time" +
         (times == 1 ? "" : "s") + "]";
}
std::string cut_marker(std::size_t bytes) {
  return " [... " + std::to_string(bytes) + " bytes cut ...] ";
}

// One output line: a normalized line, possibly standing for a run of identical ones.
struct Unit {
  std::string_view text;
  std::size_t line = 0;     // index of its first normalized line
  std::size_t repeats = 0;  // identical lines right after it, folded into it
  LineClass kind;
};

struct Cut {
  std::string_view head;
  std::size_t omitted = 0;
  std::string_view tail;
};

// Keeps the start and end of a line longer than `max_line`, cutting on UTF-8 boundaries.
Cut cut_line(std::string_view text, std::size_t max_line) {
  if (text.size() <= max_line) return {text, 0, {}};
  std::size_t reserve = cut_marker(text.size()).size();
  std::size_t keep = max_line > reserve ? max_line - reserve : 0;
  std::size_t head = keep * 3 / 4;
  while (head > 0 && is_continuation(text[head])) --head;
  std::size_t tail = text.size() - (keep - keep * 3 / 4);
  while (tail < text.size() && is_continuation(text[tail])) ++tail;
  return {text.substr(0, head), tail - head, text.substr(tail)};
}

std::vector<Unit> fold_repeats(const NormalizedLog& log) {
  std::vector<Unit> units;
  units.reserve(log.size());
  std::size_t i = 0;
  while (i < log.size()) {
    std::string_view text = log.line(i);
    std::size_t same = i + 1;
    while (same < log.size() && log.line(same) == text) ++same;
    std::size_t repeats = same - i - 1;
    // Fold only when the note is shorter than the lines it replaces.
    if (repeats > 0 && repeats * (text.size() + 1) > repeat_marker(repeats).size() + 1) {
      units.push_back({text, i, repeats, classify(text)});
      i = same;
      continue;
    }
    units.push_back({text, i, 0, classify(text)});
    ++i;
  }
  return units;
}

// The lines chosen so far, and the exact size of the excerpt they make with their gap markers.
class Selection {
 public:
  Selection(const std::vector<Unit>& units, std::size_t total_lines, std::size_t max_line,
            std::size_t budget)
      : units_(units), total_lines_(total_lines), max_line_(max_line), budget_(budget) {
    sizes_.reserve(units.size());
    for (const Unit& unit : units) sizes_.push_back(unit_size(unit));
    cost_ = gap_size(0, units.size());
  }

  // Adds the largest part of [first, last] that contains `anchor` and fits: lines below the
  // anchor go first, then lines above it. Returns whether anything was added.
  bool add_around(std::size_t first, std::size_t last, std::size_t anchor) {
    for (std::size_t end = last + 1; end > anchor; --end) {
      if (try_add(first, end - 1)) return true;
    }
    for (std::size_t begin = first + 1; begin <= anchor; ++begin) {
      if (try_add(begin, anchor)) return true;
    }
    return false;
  }

  std::size_t room() const { return budget_ - std::min(budget_, cost_); }

  std::string render() const {
    std::string out;
    if (kept_.empty()) return out;
    out.reserve(cost_);
    std::size_t next = 0;
    for (std::size_t index : kept_) {
      append_gap(out, next, index);
      append_unit(out, units_[index]);
      next = index + 1;
    }
    append_gap(out, next, units_.size());
    return out;
  }

 private:
  bool try_add(std::size_t first, std::size_t last) {
    std::size_t cost = cost_after_adding(first, last);
    if (cost > budget_) return false;
    for (std::size_t i = first; i <= last; ++i) kept_.insert(i);
    cost_ = cost;
    return true;
  }

  // Keeping a short line can shrink the excerpt: it may replace a longer gap marker.
  std::size_t cost_after_adding(std::size_t first, std::size_t last) const {
    auto after_first = kept_.lower_bound(first);
    auto after_last = kept_.upper_bound(last);
    std::size_t from = after_first == kept_.begin() ? 0 : *std::prev(after_first) + 1;
    std::size_t to = after_last == kept_.end() ? units_.size() : *after_last;
    std::size_t removed = 0;
    std::size_t added = gap_size(from, first) + gap_size(last + 1, to);
    std::size_t next = from;
    for (auto it = after_first; it != after_last; ++it) {
      removed += gap_size(next, *it);
      next = *it + 1;
    }
    removed += gap_size(next, to);
    for (std::size_t i = first; i <= last; ++i) {
      if (!kept_.contains(i)) added += sizes_[i];
    }
    return cost_ + added - removed;
  }

  std::size_t line_at(std::size_t unit) const {
    return unit < units_.size() ? units_[unit].line : total_lines_;
  }
  // The marker line for units [from, to) left out, or 0 when that range is empty.
  std::size_t gap_size(std::size_t from, std::size_t to) const {
    return to > from ? gap_marker(line_at(to) - line_at(from)).size() + 1 : 0;
  }
  std::size_t unit_size(const Unit& unit) const {
    Cut cut = cut_line(unit.text, max_line_);
    std::size_t size = cut.head.size() + cut.tail.size() + 1;
    if (cut.omitted > 0) size += cut_marker(cut.omitted).size();
    if (unit.repeats > 0) size += repeat_marker(unit.repeats).size() + 1;
    return size;
  }

  void append_gap(std::string& out, std::size_t from, std::size_t to) const {
    if (to > from) out.append(gap_marker(line_at(to) - line_at(from))).push_back('\n');
  }
  void append_unit(std::string& out, const Unit& unit) const {
    Cut cut = cut_line(unit.text, max_line_);
    out.append(cut.head);
    if (cut.omitted > 0) out.append(cut_marker(cut.omitted));
    out.append(cut.tail).push_back('\n');
    if (unit.repeats > 0) out.append(repeat_marker(unit.repeats)).push_back('\n');
  }

  const std::vector<Unit>& units_;
  std::size_t total_lines_;
  std::size_t max_line_;
  std::size_t budget_;
  std::vector<std::size_t> sizes_;
  std::set<std::size_t> kept_;
  std::size_t cost_ = 0;
};

struct Window {
  std::size_t first = 0;
  std::size_t last = 0;
  std::size_t anchor = 0;
};

std::size_t indentation(std::string_view text) {
  std::size_t indent = text.find_first_not_of(" \t");
  return indent == std::string_view::npos ? text.size() : indent;
}

// The hit and what belongs to its report: a few lines above, and below it the stack frames,
// indented detail and source excerpts that follow without a new report starting.
Window window_around(const std::vector<Unit>& units, std::size_t hit) {
  Window window{hit >= kContextAbove ? hit - kContextAbove : 0, hit, hit};
  std::size_t indent = indentation(units[hit].text);
  std::size_t limit = std::min(units.size() - 1, hit + kMaxFollow);
  for (std::size_t i = hit + 1; i <= limit; ++i) {
    const Unit& unit = units[i];
    bool belongs = (unit.kind.traits & kFrame) || (indentation(unit.text) > indent) || i <= hit + 2;
    if (!belongs || (unit.kind.traits & kStepStart)) break;
    window.last = i;
  }
  return window;
}

std::vector<Window> plan(const std::vector<Unit>& units, std::size_t budget) {
  std::vector<Window> windows;
  if (units.empty()) return windows;
  // The end of the log says how the job ended; keep a little of it whatever else is chosen.
  std::size_t tail_bytes = 0;
  std::size_t tail = units.size();
  while (tail > 0 && tail_bytes + units[tail - 1].text.size() + 1 <= budget / 8) {
    tail_bytes += units[--tail].text.size() + 1;
  }
  if (tail < units.size()) windows.push_back({tail, units.size() - 1, units.size() - 1});

  std::vector<int> priority(units.size());
  for (std::size_t i = 0; i < units.size(); ++i) priority[i] = units[i].kind.score * 10;
  // Lines inside a step that failed (from its command to the line reporting its status) matter
  // more than the same words in a step that passed.
  bool any_failed = false;
  std::size_t step_start = 0;
  for (std::size_t i = 0; i < units.size(); ++i) {
    if (units[i].kind.traits & kStepStart) step_start = i;
    if (units[i].kind.traits & kStepFailed) {
      any_failed = true;
      for (std::size_t j = step_start; j <= i; ++j) priority[j] += 30;
      step_start = i + 1;
    }
  }
  if (!any_failed) {
    for (std::size_t j = step_start; j < units.size(); ++j) priority[j] += 30;
  }

  std::vector<std::size_t> hits;
  for (std::size_t i = 0; i < units.size(); ++i) {
    if (units[i].kind.score >= kMinScore) hits.push_back(i);
  }
  std::stable_sort(hits.begin(), hits.end(),
                   [&](std::size_t a, std::size_t b) { return priority[a] > priority[b]; });
  for (std::size_t hit : hits) windows.push_back(window_around(units, hit));
  return windows;
}

}  // namespace

std::string excerpt(std::string_view log, std::size_t budget) {
  NormalizedLog lines = normalize(log);
  std::vector<Unit> units = fold_repeats(lines);
  Selection selection(units, lines.size(), std::min(kMaxLineBytes, budget / 2), budget);
  for (const Window& window : plan(units, budget)) {
    selection.add_around(window.first, window.last, window.anchor);
    if (selection.room() < 64) break;
  }
  return selection.render();
}

}  // namespace forgehand::triage
