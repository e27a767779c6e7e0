#include "triage/excerpt.h"

#include <algorithm>
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
// Lines above a hit shown with it in any case: the command or test it belongs to.
constexpr std::size_t kContextAbove = 3;
constexpr std::size_t kContextBelow = 3;
// Once every report has its place, leftover room shows this much more around each.
constexpr std::size_t kExpandAbove = 40;
constexpr std::size_t kExpandBelow = 20;
constexpr int kMinScore = 4;
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
  std::optional<Block> add_block(Block block) {
    for (std::size_t first = block.first; first <= block.core_first; ++first) {
      if (try_add(first, block.last)) return Block{first, block.core_first, block.hit, block.last};
    }
    for (std::size_t last = block.last; last > block.hit; --last) {
      if (try_add(block.core_first, last - 1)) {
        return Block{block.core_first, block.core_first, block.hit, last - 1};
      }
    }
    for (std::size_t first = block.core_first + 1; first <= block.hit; ++first) {
      if (try_add(first, block.hit)) return Block{first, first, block.hit, block.hit};
    }
    return std::nullopt;
  }

  // Grows the kept range [first, last] one line at a time up to `floor`, then down to `ceiling`,
  // while the budget allows.
  void extend(std::size_t first, std::size_t floor, std::size_t last, std::size_t ceiling) {
    while (first > floor && try_add(first - 1, first - 1)) --first;
    while (last < ceiling && try_add(last + 1, last + 1)) ++last;
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

std::size_t indentation(std::string_view text) {
  return std::min(text.find_first_not_of(" \t"), text.size());
}

bool starts_report(const Unit& unit) { return unit.kind.traits & (kStepStart | kRule); }

Block block_around(const std::vector<Unit>& units, std::size_t hit) {
  Block block{hit, hit >= kContextAbove ? hit - kContextAbove : 0, hit, hit};
  // Up to the report's header (`____ test_x ____`) when there is one near enough; passing
  // tests or a new step in between mean the hit is not part of such a report.
  std::size_t floor = hit >= kMaxAbove ? hit - kMaxAbove : 0;
  block.first = block.core_first;
  for (std::size_t i = hit; i > floor; --i) {
    std::uint8_t traits = units[i - 1].kind.traits;
    if (traits & (kSuccess | kStepStart)) break;
    if (traits & kRule) {
      block.first = std::min(block.core_first, i - 1);
      break;
    }
  }
  // Down through what continues it: frames and deeper indentation, across a few lines that do
  // not (a source line quoted in a trace, an expected/actual pair).
  std::size_t indent = indentation(units[hit].text);
  std::size_t limit = std::min(units.size() - 1, hit + kMaxFollow);
  block.last = std::min(limit, hit + kContextBelow);
  for (std::size_t i = hit + 1; i <= limit && i <= block.last + kContextBelow; ++i) {
    const Unit& unit = units[i];
    if (starts_report(unit)) break;
    if ((unit.kind.traits & kFrame) || indentation(unit.text) > indent) block.last = i;
  }
  return block;
}

// Lines that differ only in numbers (`timeout after 3s` / `after 5s`, test ids) say one thing.
std::string message_key(std::string_view text) {
  std::string key;
  key.reserve(text.size());
  for (char c : text) {
    bool digit = c >= '0' && c <= '9';
    if (!digit || key.empty() || key.back() != '#') key.push_back(digit ? '#' : c);
  }
  return key;
}

// Failure reports, most telling first.
std::vector<Block> rank_blocks(const std::vector<Unit>& units) {
  std::vector<int> priority(units.size());
  for (std::size_t i = 0; i < units.size(); ++i) priority[i] = units[i].kind.score * 10;
  // Lines inside a step that failed (from its command to the line reporting its status) matter
  // more than the same words in a step that passed. A log that stops without such a line was
  // cut off or killed inside its last step.
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
  // Ties go to the earlier line: the first error usually causes the ones after it.
  std::stable_sort(hits.begin(), hits.end(),
                   [&](std::size_t a, std::size_t b) { return priority[a] > priority[b]; });
  std::vector<Block> blocks;
  std::unordered_set<std::string> seen;
  for (std::size_t hit : hits) {
    if (seen.insert(message_key(units[hit].text)).second) {
      blocks.push_back(block_around(units, hit));
    }
  }
  return blocks;
}

}  // namespace

std::string excerpt(std::string_view log, std::size_t budget) {
  NormalizedLog lines = normalize(log);
  std::vector<Unit> units = fold_repeats(lines);
  if (units.empty()) return {};
  Selection selection(units, lines.size(), std::min(kMaxLineBytes, budget / 2), budget);
  // The end of the log says how the job ended; a little of it goes in whatever else is chosen.
  std::size_t tail = units.size();
  std::size_t tail_bytes = 0;
  while (tail > 0 && tail_bytes + units[tail - 1].text.size() + 1 <= budget / kTailShare) {
    tail_bytes += units[--tail].text.size() + 1;
  }
  if (tail < units.size()) {
    selection.add_block({tail, tail, units.size() - 1, units.size() - 1});
  }
  std::vector<Block> blocks = rank_blocks(units);
  std::vector<Block> added;
  for (const Block& block : blocks) {
    if (selection.room() < kMinRoom) break;
    if (auto kept = selection.add_block(block)) added.push_back(*kept);
  }
  // Whatever room is left shows more of the chosen reports, the best first: above them is what
  // led there (the test's source, the lint output before `npm ERR!`), below the rest of a trace.
  for (const Block& block : added) {
    std::size_t floor = block.first >= kExpandAbove ? block.first - kExpandAbove : 0;
    selection.extend(block.first, floor, block.last,
                     std::min(units.size() - 1, block.last + kExpandBelow));
  }
  return selection.render();
}

}  // namespace forgehand::triage
