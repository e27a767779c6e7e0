#include "triage/excerpt.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <set>
#include <unordered_set>
#include <vector>

#include "triage/normalize.h"
#include "triage/signatures.h"

namespace forgehand::triage {
namespace {

// A longer line (minified code, a JSON dump) is cut in its middle: its start says what it is.
constexpr std::size_t kMaxLineBytes = 1024;
// How far a report reaches: its header may be this far above the hit, its trace this far below.
constexpr std::size_t kMaxAbove = 150;
constexpr std::size_t kMaxFollow = 60;
// A titled rule (`==== FAILURES ====`) heads a section of reports this long at most.
constexpr std::size_t kMaxSection = 500;
// Lines above a hit shown with it in any case: the command or test it belongs to.
constexpr std::size_t kContextAbove = 3;
// Lines below a hit shown with it in any case, and the most lines a report's continuation may
// skip (a source line quoted in a trace) before it is taken to have ended.
constexpr std::size_t kContextBelow = 3;
// Once every report has its place, leftover room shows more around each, this much per round.
constexpr std::size_t kExpandAbove = 40;
constexpr std::size_t kExpandBelow = 20;
// The last lines of a failed step, where tools print their summary.
constexpr std::size_t kStepEnd = 30;
// A failed step whose whole output fits in 1/kStepShare of the budget is shown whole.
constexpr std::size_t kStepShare = 2;
constexpr int kMinScore = 4;
// From this score on a hit names the failure itself and may bring its whole report.
constexpr int kSureScore = 7;
// The end of the log gets 1/kTailShare of the budget.
constexpr std::size_t kTailShare = 16;
// Below this, no report fits usefully.
constexpr std::size_t kMinRoom = 64;

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
    // Blank lines cost budget and tell a reader little; the gap markers keep counting them.
    if (text.empty()) {
      ++i;
      continue;
    }
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

// A failure report around one hit: `core` is what must be shown for the hit to make sense,
// [first, last] how far the report reaches (up to its header, down through its detail).
struct Block {
  std::size_t first = 0;
  std::size_t core_first = 0;
  std::size_t hit = 0;
  std::size_t last = 0;
};

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

  // Keeps as much of `block` as fits, giving up first its reach above the core, then its lines
  // below the hit, then its context above the hit. Returns the part kept, if any.
  std::optional<Block> add_block(const Block& block) {
    auto fits = [&](std::size_t first, std::size_t last) {
      return cost_after_adding(first, last) <= budget_;
    };
    if (!fits(block.hit, block.hit)) return std::nullopt;
    Block kept = block;
    if (fits(block.core_first, block.last)) {
      kept.first = lowest(block.first, block.core_first,
                          [&](std::size_t first) { return fits(first, block.last); });
    } else if (fits(block.core_first, block.hit)) {
      kept.first = block.core_first;
      kept.last = highest(block.hit, block.last,
                          [&](std::size_t last) { return fits(block.core_first, last); });
    } else {
      kept.first = kept.core_first = lowest(
          block.core_first, block.hit, [&](std::size_t first) { return fits(first, block.hit); });
      kept.last = block.hit;
    }
    add(kept.first, kept.last);
    return kept;
  }

  // Grows the kept `block` by up to `above` lines upwards, then `below` downwards, one line at a
  // time while the budget allows and up to a passing test, which says nothing about the failure.
  // Returns whether it grew.
  bool extend(Block& block, std::size_t above, std::size_t below) {
    std::size_t floor = block.first >= above ? block.first - above : 0;
    std::size_t ceiling = std::min(units_.size() - 1, block.last + below);
    Block before = block;
    auto wanted = [&](std::size_t unit) { return !(units_[unit].kind.traits & kSuccess); };
    while (block.first > floor && wanted(block.first - 1) &&
           try_add(block.first - 1, block.first - 1)) {
      --block.first;
    }
    while (block.last < ceiling && wanted(block.last + 1) &&
           try_add(block.last + 1, block.last + 1)) {
      ++block.last;
    }
    return block.first != before.first || block.last != before.last;
  }

  const std::vector<std::size_t>& sizes() const { return sizes_; }

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
    if (cost_after_adding(first, last) > budget_) return false;
    add(first, last);
    return true;
  }

  void add(std::size_t first, std::size_t last) {
    cost_ = cost_after_adding(first, last);
    for (std::size_t i = first; i <= last; ++i) kept_.insert(i);
  }

  // Binary searches over a range where `fits` holds at one end: a longer range costs more,
  // except where a kept line replaces a marker, so the answer always fits but may not be the
  // very widest.
  template <class Fits>
  static std::size_t lowest(std::size_t low, std::size_t high, Fits&& fits) {
    while (low < high) {
      std::size_t middle = low + (high - low) / 2;
      if (fits(middle)) {
        high = middle;
      } else {
        low = middle + 1;
      }
    }
    return high;
  }
  template <class Fits>
  static std::size_t highest(std::size_t low, std::size_t high, Fits&& fits) {
    while (low < high) {
      std::size_t middle = low + (high - low + 1) / 2;
      if (fits(middle)) {
        low = middle;
      } else {
        high = middle - 1;
      }
    }
    return low;
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

std::size_t indentation(std::string_view text) {
  return std::min(text.find_first_not_of(" \t"), text.size());
}

// The label some tools put before every line of a message (`[error]`, `npm ERR!`, `ERROR:`):
// the line's start up to a `]`, `!` or `:` that closes a short first word or two.
std::string_view level_tag(std::string_view text) {
  std::size_t end = text.find_first_of("]!:");
  if (end == std::string_view::npos || end > 12) return {};
  std::string_view tag = text.substr(0, end + 1);
  bool has_letter = std::any_of(tag.begin(), tag.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  });
  return has_letter && tag.find('/') == std::string_view::npos ? tag : std::string_view();
}

bool starts_report(const Unit& unit) { return unit.kind.traits & (kStepStart | kRule); }

// Where a report headed by the rule at `header` ends: before the next rule drawn with the same
// character (pytest's `==== FAILURES ====` runs to `==== warnings summary ====`, past the
// `____ test ____` rules of each failure), a passing test or a new step.
std::size_t section_end(const std::vector<Unit>& units, std::size_t header) {
  std::string_view text = units[header].text;
  char rule = text[indentation(text)];
  std::size_t limit = std::min(units.size() - 1, header + kMaxSection);
  for (std::size_t i = header + 1; i <= limit; ++i) {
    std::string_view line = units[i].text;
    if ((units[i].kind.traits & (kStepStart | kSuccess)) ||
        ((units[i].kind.traits & kRule) && line[indentation(line)] == rule)) {
      return i - 1;
    }
  }
  return limit;
}

Block block_around(const std::vector<Unit>& units, std::size_t hit) {
  // Context above stops at passing tests: in a runner's list (`test_x PASSED`, `test_y FAILED`)
  // they are not what the failure needs.
  Block block{hit, hit, hit, hit};
  while (block.core_first > 0 && hit - block.core_first < kContextAbove &&
         !(units[block.core_first - 1].kind.traits & kSuccess)) {
    --block.core_first;
  }
  if (units[hit].kind.traits & kRule) {
    block.first = block.core_first;
    block.last = section_end(units, hit);
    return block;
  }
  // Up to the report's header (`____ test_x ____`) when there is one near enough and the hit
  // surely reports a failure; passing tests or a new step in between mean the hit is not part
  // of such a report. A rule right above the hit closes a report rather than opening one (PHP's
  // `====DONE====` before `FAIL`).
  std::size_t floor = hit >= kMaxAbove ? hit - kMaxAbove : 0;
  if (units[hit].kind.score < kSureScore) floor = block.core_first;
  block.first = block.core_first;
  for (std::size_t i = block.core_first; i > floor; --i) {
    std::uint8_t traits = units[i - 1].kind.traits;
    if (traits & (kSuccess | kStepStart)) break;
    if (traits & kRule) {
      block.first = i - 1;
      break;
    }
  }
  // Down through what continues it: frames and deeper indentation, across a few lines that do
  // not (a source line quoted in a trace, an expected/actual pair), and the line that ends it
  // (Python's exception after its frames).
  std::size_t indent = indentation(units[hit].text);
  std::string_view tag = level_tag(units[hit].text);
  std::size_t limit = std::min(units.size() - 1, hit + kMaxFollow);
  std::size_t continued = hit;
  for (std::size_t i = hit + 1; i <= limit && i <= continued + kContextBelow; ++i) {
    const Unit& unit = units[i];
    if (starts_report(unit)) break;
    if ((unit.kind.traits & kFrame) || indentation(unit.text) > indent ||
        (!tag.empty() && unit.text.starts_with(tag))) {
      continued = i;
    }
  }
  block.last = std::min(limit, std::max(continued + 1, hit + kContextBelow));
  return block;
}

// Lines that differ only in numbers (`timeout after 3s` / `after 5s`, test ids) say one thing:
// a hash (FNV-1a) of the line with each run of digits read as one `#`.
std::uint64_t message_key(std::string_view text) {
  std::uint64_t hash = 14695981039346656037ull;
  bool in_number = false;
  for (char c : text) {
    bool digit = c >= '0' && c <= '9';
    if (digit && in_number) continue;
    in_number = digit;
    hash = (hash ^ static_cast<unsigned char>(digit ? '#' : c)) * 1099511628211ull;
  }
  return hash;
}

struct Step {
  std::size_t first = 0;
  std::size_t last = 0;
  bool small = false;  // its whole output fits in 1/kStepShare of the budget
};

// Steps that failed: from an echoed command to the line reporting its nonzero status. A log that
// ends without such a line was cut off or killed inside its last step, which counts as failed.
std::vector<Step> failed_steps(const std::vector<Unit>& units) {
  std::vector<Step> steps;
  std::size_t start = 0;
  bool started = false;
  for (std::size_t i = 0; i < units.size(); ++i) {
    if (units[i].kind.traits & kStepStart) {
      start = i;
      started = true;
    }
    if (units[i].kind.traits & kStepFailed) {
      // A failure right after another one with no command echoed in between is the same step
      // retried (Travis' travis_retry): one step.
      if (!started && !steps.empty() && steps.back().last + 1 == start) {
        steps.back().last = i;
      } else {
        steps.push_back({start, i, false});
      }
      start = i + 1;
      started = false;
    }
  }
  if (steps.empty()) steps.push_back({start, units.size() - 1, false});
  return steps;
}

// The last lines of the log, up to 1/kTailShare of the budget (at least one line).
Block tail_block(const std::vector<std::size_t>& sizes, std::size_t budget) {
  std::size_t last = sizes.size() - 1;
  std::size_t first = last;
  for (std::size_t bytes = sizes[last];
       first > 0 && bytes + sizes[first - 1] <= budget / kTailShare;) {
    bytes += sizes[--first];
  }
  return {first, first, last, last};
}

// Failure reports in the order they deserve room, most telling first. Blocks are built only when
// asked for: most hits of a long log never get any room.
class Ranking {
 public:
  Ranking(const std::vector<Unit>& units, const std::vector<std::size_t>& sizes, std::size_t budget)
      : units_(units), steps_(failed_steps(units)) {
    std::vector<int> priority(units.size());
    for (std::size_t i = 0; i < units.size(); ++i) priority[i] = units[i].kind.score * 10;
    // The same words matter more inside a failed step than in one that passed; and the whole
    // output of a failed step, when it is short, is the best account of what went wrong.
    // Most tools sum up just before they exit, so the end of a failed step counts a little more.
    for (Step& step : steps_) {
      std::size_t bytes = 0;
      for (std::size_t i = step.first; i <= step.last; ++i) {
        priority[i] += 30;
        if (step.last - i < kStepEnd) priority[i] += 15;
        bytes += sizes[i];
      }
      step.small = bytes <= budget / kStepShare;
    }
    for (std::size_t i = 0; i < units.size(); ++i) {
      if (units[i].kind.score < kMinScore) continue;
      hits_.push_back(i);
      // The line closing a failed step, with the last lines the command printed, is cheap and
      // says which command failed.
      if (units[i].kind.traits & kStepFailed) priority[i] += 20;
    }
    // Ties go to the earlier line: the first error usually causes the ones after it.
    std::stable_sort(hits_.begin(), hits_.end(),
                     [&](std::size_t a, std::size_t b) { return priority[a] > priority[b]; });
    // A message repeated (a retried request, the same assertion in every test) is shown once
    // before any repeat of another is; the CI's verdicts are not messages but the steps' ends,
    // each of them wanted (a retried step says "failed. Retrying, 2 of 3" each time).
    std::unordered_set<std::uint64_t> seen;
    std::stable_partition(hits_.begin(), hits_.end(), [&](std::size_t hit) {
      return (units[hit].kind.traits & kStepFailed) ||
             seen.insert(message_key(units[hit].text)).second;
    });
  }

  const std::vector<std::size_t>& hits() const { return hits_; }

  Block block(std::size_t hit) const {
    Block block = block_around(units_, hit);
    auto step = std::upper_bound(steps_.begin(), steps_.end(), hit,
                                 [](std::size_t line, const Step& s) { return line < s.first; });
    if (step != steps_.begin() && (--step)->small && hit <= step->last) {
      block.first = std::min(block.first, step->first);
      block.last = std::max(block.last, step->last);
    }
    return block;
  }

 private:
  const std::vector<Unit>& units_;
  std::vector<Step> steps_;
  std::vector<std::size_t> hits_;
};

}  // namespace

std::string excerpt(std::string_view log, std::size_t budget) {
  NormalizedLog lines = normalize(log);
  std::vector<Unit> units = fold_repeats(lines);
  if (units.empty()) return {};
  Selection selection(units, lines.size(), std::min(kMaxLineBytes, budget / 2), budget);
  // The end of the log says how the job ended: a little of it goes in first whatever else is
  // chosen, and it grows last, so a log with no recognizable failure shows its end.
  std::optional<Block> tail = selection.add_block(tail_block(selection.sizes(), budget));
  std::vector<Block> added;
  Ranking ranking(units, selection.sizes(), budget);
  for (std::size_t hit : ranking.hits()) {
    if (selection.room() < kMinRoom) break;
    if (selection.sizes()[hit] > selection.room()) continue;
    if (auto kept = selection.add_block(ranking.block(hit))) added.push_back(*kept);
  }
  if (tail) added.push_back(*tail);
  // Whatever room is left shows more of the chosen reports, the best first, a little at a time:
  // above them is what led there (the test's source, the lint output before `npm ERR!`), below
  // the rest of a trace.
  for (bool grew = true; grew && selection.room() >= kMinRoom;) {
    grew = false;
    for (Block& block : added) grew = selection.extend(block, kExpandAbove, kExpandBelow) || grew;
  }
  return selection.render();
}

}  // namespace forgehand::triage
