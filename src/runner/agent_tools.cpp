#include "runner/agent_tools.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "util/redact.h"

namespace forgehand::runner {

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

constexpr std::size_t kMaxBracePatterns = 64;
constexpr int kMaxBraceDepth = 16;
constexpr std::size_t kBinaryProbeBytes = 8000;
// git's own plumbing output is parsed, not shown, so it gets room of its own.
constexpr std::size_t kListingBytes = 16 << 20;
constexpr std::size_t kSearchOutputBytes = 4 << 20;
// Listing and searching are quick; a regex that backtracks without end is not.
constexpr std::chrono::seconds kGitTimeout{60};

ToolResult ok(std::string text) { return ToolResult{redact(text), false, false}; }
ToolResult refuse(std::string text) { return ToolResult{redact(text), true, false}; }

std::string in_quotes(std::string_view text) { return "\"" + std::string(text) + "\""; }

// Case-insensitive: a checkout may live on a filesystem where .GIT is .git.
bool is_git_dir(std::string_view part) {
  return part.size() == 4 && part[0] == '.' && (part[1] | 0x20) == 'g' && (part[2] | 0x20) == 'i' &&
         (part[3] | 0x20) == 't';
}

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> parts;
  while (!path.empty()) {
    std::size_t slash = path.find('/');
    std::string_view part = path.substr(0, slash);
    if (!part.empty() && part != ".") parts.push_back(part);
    path = slash == std::string_view::npos ? std::string_view() : path.substr(slash + 1);
  }
  return parts;
}

// The lexical half of confinement, with messages the model can act on; the kernel does the
// other half (symlinks) when the path is opened beneath the checkout.
Result<std::string> relative_path(std::string_view path, bool for_write) {
  if (path.find('\0') != std::string_view::npos) {
    return fail(ErrorCode::invalid_argument, "the path contains a NUL byte");
  }
  if (path.starts_with('/')) {
    return fail(ErrorCode::invalid_argument,
                "absolute paths are not allowed; give the path relative to the repository root");
  }
  std::string normal;
  for (std::string_view part : split_path(path)) {
    if (part == "..") {
      return fail(ErrorCode::invalid_argument,
                  "`..` is not allowed; give the path relative to the repository root");
    }
    if (for_write && is_git_dir(part)) {
      return fail(ErrorCode::forbidden, "files inside .git cannot be written");
    }
    if (!normal.empty()) normal.push_back('/');
    normal += part;
  }
  if (normal.empty()) {
    return fail(ErrorCode::invalid_argument, "the path names the repository root, not a file");
  }
  return normal;
}

std::string open_error(std::string_view path, int error) {
  switch (error) {
    case EXDEV:
      return in_quotes(path) + " leads outside the repository (through a symbolic link); refused";
    case ELOOP:
      return in_quotes(path) + " is a symbolic link; edit the file it points to instead";
    case ENOENT:
      return in_quotes(path) + " does not exist";
    case ENOTDIR:
      return "a parent of " + in_quotes(path) + " is not a directory";
    case EISDIR:
      return in_quotes(path) + " is a directory; use list_files to see what it holds";
    default:
      return in_quotes(path) + ": " + std::strerror(error);
  }
}

// Opens `path` beneath `root`: the kernel refuses any resolution, `..` or symlink (absolute or
// relative), that would leave the checkout, with EXDEV.
int open_beneath(int root, const std::string& path, std::uint64_t flags, mode_t mode = 0) {
  open_how how{};
  how.flags = flags | O_CLOEXEC;
  how.mode = mode;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  return static_cast<int>(syscall(SYS_openat2, root, path.c_str(), &how, sizeof how));
}

// The path of an open file relative to the checkout, as the kernel resolved it.
std::optional<std::string> resolved_relative(int fd, const std::string& root_path) {
  char target[4096];
  std::string link = "/proc/self/fd/" + std::to_string(fd);
  ssize_t n = readlink(link.c_str(), target, sizeof target - 1);
  if (n < 0) return std::nullopt;
  std::string_view resolved(target, static_cast<std::size_t>(n));
  if (resolved == root_path) return std::string();
  if (!resolved.starts_with(root_path) || resolved[root_path.size()] != '/') return std::nullopt;
  return std::string(resolved.substr(root_path.size() + 1));
}

bool touches_git_dir(const std::string& relative) {
  std::vector<std::string_view> parts = split_path(relative);
  return std::any_of(parts.begin(), parts.end(), is_git_dir);
}

Result<std::string> read_all(int fd, std::size_t size) {
  std::string content(size, '\0');
  std::size_t done = 0;
  while (done < size) {
    ssize_t n = pread(fd, content.data() + done, size - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(ErrorCode::io, std::strerror(errno));
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  content.resize(done);
  return content;
}

Result<void> replace_content(int fd, std::string_view content) {
  if (ftruncate(fd, 0) != 0) return fail(ErrorCode::io, std::strerror(errno));
  std::size_t done = 0;
  while (done < content.size()) {
    ssize_t n = pwrite(fd, content.data() + done, content.size() - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(ErrorCode::io, std::strerror(errno));
    done += static_cast<std::size_t>(n);
  }
  return {};
}

bool looks_binary(std::string_view content) {
  return content.substr(0, kBinaryProbeBytes).find('\0') != std::string_view::npos;
}

std::size_t count_lines(std::string_view text) {
  if (text.empty()) return 0;
  std::size_t lines = static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
  return text.back() == '\n' ? lines : lines + 1;
}

// "A-B", "A-" or "A", 1-based and inclusive.
std::optional<std::pair<std::size_t, std::size_t>> parse_lines(std::string_view spec) {
  auto number = [](std::string_view digits) -> std::optional<std::size_t> {
    if (digits.empty() || digits.size() > 9) return std::nullopt;
    std::size_t value = 0;
    for (char c : digits) {
      if (c < '0' || c > '9') return std::nullopt;
      value = value * 10 + static_cast<std::size_t>(c - '0');
    }
    return value;
  };
  std::size_t dash = spec.find('-');
  auto first = number(spec.substr(0, dash));
  if (!first || *first == 0) return std::nullopt;
  if (dash == std::string_view::npos) return std::pair{*first, *first};
  std::string_view rest = spec.substr(dash + 1);
  if (rest.empty()) return std::pair{*first, SIZE_MAX};
  auto last = number(rest);
  if (!last || *last < *first) return std::nullopt;
  return std::pair{*first, *last};
}

Result<std::vector<std::string>> pathspecs(std::string_view glob) {
  std::vector<std::string> specs;
  if (glob.empty()) return specs;
  auto patterns = expand_braces(glob);
  if (!patterns) return tl::unexpected(patterns.error());
  for (const std::string& pattern : *patterns) {
    if (pattern.starts_with('/')) {
      return fail(ErrorCode::invalid_argument,
                  "the glob must be relative to the repository root, e.g. src/**/*.cpp");
    }
    for (std::string_view part : split_path(pattern)) {
      if (part == "..") return fail(ErrorCode::invalid_argument, "`..` is not allowed in a glob");
    }
    specs.push_back(":(glob)" + pattern);
  }
  return specs;
}

std::string cut_line(std::string_view line, std::size_t limit) {
  if (line.size() <= limit) return std::string(line);
  std::size_t end = limit;
  while (end > 0 && (static_cast<unsigned char>(line[end]) & 0xC0) == 0x80) --end;
  return std::string(line.substr(0, end)) + " [... line cut]";
}

std::string schema(json properties, std::vector<std::string> required) {
  return json{{"type", "object"},
              {"properties", std::move(properties)},
              {"required", std::move(required)},
              {"additionalProperties", false}}
      .dump();
}

enum class Need { optional, present, non_empty };

// A string argument; an optional one that is absent reads as empty.
std::optional<std::string> string_argument(const json& arguments, const char* name, Need need,
                                           std::string& problem) {
  auto it = arguments.find(name);
  if (it == arguments.end() || it->is_null()) {
    if (need == Need::optional) return std::string();
    problem = std::string("`") + name + "` (a string) is required";
    return std::nullopt;
  }
  if (!it->is_string()) {
    problem = std::string("`") + name + "` must be a string";
    return std::nullopt;
  }
  std::string value = it->get<std::string>();
  if (need == Need::non_empty && value.empty()) {
    problem = std::string("`") + name + "` must not be empty";
    return std::nullopt;
  }
  return value;
}

// Expands the first brace group that offers alternatives; groups without a comma are literal.
Result<void> expand_into(const std::string& pattern, int depth, std::vector<std::string>& out) {
  std::size_t open = std::string::npos;
  std::size_t close = 0;
  std::vector<std::size_t> commas;
  for (std::size_t start = pattern.find('{');
       start != std::string::npos && open == std::string::npos;
       start = pattern.find('{', start + 1)) {
    int level = 0;
    commas.clear();
    for (std::size_t i = start; i < pattern.size(); ++i) {
      if (pattern[i] == '{') ++level;
      if (pattern[i] == ',' && level == 1) commas.push_back(i);
      if (pattern[i] == '}' && --level == 0) {
        if (!commas.empty()) {
          open = start;
          close = i;
        }
        break;
      }
    }
  }
  if (open == std::string::npos) {
    if (out.size() == kMaxBracePatterns) {
      return fail(ErrorCode::invalid_argument, "the glob's braces give more than " +
                                                   std::to_string(kMaxBracePatterns) + " patterns");
    }
    out.push_back(pattern);
    return {};
  }
  if (depth == kMaxBraceDepth) {
    return fail(ErrorCode::invalid_argument, "the glob's braces are nested too deeply");
  }
  std::string prefix = pattern.substr(0, open);
  std::string suffix = pattern.substr(close + 1);
  commas.push_back(close);
  std::size_t from = open + 1;
  for (std::size_t comma : commas) {
    auto expanded =
        expand_into(prefix + pattern.substr(from, comma - from) + suffix, depth + 1, out);
    if (!expanded) return expanded;
    from = comma + 1;
  }
  return {};
}

}  // namespace

Result<std::vector<std::string>> expand_braces(std::string_view pattern) {
  std::vector<std::string> patterns;
  if (auto expanded = expand_into(std::string(pattern), 0, patterns); !expanded) {
    return tl::unexpected(expanded.error());
  }
  return patterns;
}

bool RepeatedCallDetector::record(const ToolCall& call) {
  json arguments = json::parse(call.arguments, nullptr, false);
  std::string key =
      call.name + '\n' +
      (arguments.is_discarded() ? call.arguments
                                : arguments.dump(-1, ' ', false, json::error_handler_t::replace));
  count_ = key == last_ ? count_ + 1 : 1;
  last_ = std::move(key);
  return count_ >= limit_;
}

ToolBox::ToolBox(UniqueFd root, std::string root_path, const Sandbox& sandbox, ToolLimits limits)
    : root_(std::move(root)),
      root_path_(std::move(root_path)),
      sandbox_(&sandbox),
      limits_(limits) {}

Result<ToolBox> ToolBox::open(const std::string& checkout, const Sandbox& sandbox,
                              ToolLimits limits) {
  std::error_code ec;
  if (!fs::path(checkout).is_absolute() || !fs::is_directory(checkout, ec)) {
    return fail(ErrorCode::invalid_argument,
                "tools: the checkout must be an existing absolute directory: " + checkout);
  }
  std::string root_path = fs::canonical(checkout, ec).string();
  UniqueFd root(::open(root_path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (ec || !root) {
    return fail(ErrorCode::invalid_argument, "tools: cannot open the checkout " + checkout);
  }
  return ToolBox(std::move(root), std::move(root_path), sandbox, limits);
}

std::vector<ToolDefinition> ToolBox::definitions() const {
  json path = {{"type", "string"}, {"description", "Relative to the repository root."}};
  json glob = {{"type", "string"},
               {"description",
                "Optional glob relative to the repository root: * and ? stay within a directory, "
                "** spans directories, {a,b} gives alternatives, a directory name means "
                "everything in it. Examples: src/**/*.cpp, **/*.{h,hpp}, tests"}};
  return {
      {"list_files",
       "List the repository's files (tracked and new, without what .gitignore excludes), "
       "sorted, at most " +
           std::to_string(limits_.list_entries) + ".",
       schema({{"glob", glob}}, {})},
      {"read_file",
       "Read a text file. Each line is prefixed with its number and a tab; the prefix is not "
       "part of the file. Long files are cut: ask for further lines with `lines`.",
       schema({{"path", path},
               {"lines",
                {{"type", "string"},
                 {"description",
                  "Optional 1-based inclusive line range: 120-180, 120- (to the end) or 120."}}}},
              {"path"})},
      {"search",
       "Search file contents with a Perl-compatible regular expression, line by line, skipping "
       "binary files and what .gitignore excludes. Returns path:line: text.",
       schema({{"regex", {{"type", "string"}}}, {"glob", glob}}, {"regex"})},
      {"edit_file",
       "Replace text in a file. `old` must occur exactly once, matching the file exactly "
       "(indentation and whitespace included, without read_file's line-number prefixes); "
       "include surrounding lines to make it unique.",
       schema({{"path", path},
               {"old", {{"type", "string"}, {"description", "The exact text to replace."}}},
               {"new", {{"type", "string"}, {"description", "The replacement text."}}}},
              {"path", "old", "new"})},
      {"write_file",
       "Create a file, or replace a file's whole content. Missing directories are created.",
       schema({{"path", path}, {"content", {{"type", "string"}}}}, {"path", "content"})},
      {"run",
       "Run a shell command (sh -c) in the repository root inside a sandbox: the rest of the "
       "system is read-only, /tmp is private and empty, " +
           std::string(limits_.network ? "the network is available" : "there is no network") +
           ", and the command is killed when it runs too long. Returns the exit status and the "
           "output (stdout and stderr together, shortened in the middle when long).",
       schema({{"command", {{"type", "string"}}}}, {"command"})},
      {"finish",
       "End the task. The summary becomes the pull request's description: what was wrong, what "
       "changed, how it was checked.",
       schema({{"summary", {{"type", "string"}}}}, {"summary"})},
  };
}

ToolResult ToolBox::call(std::string_view name, std::string_view arguments_text) {
  json arguments =
      arguments_text.empty() ? json::object() : json::parse(arguments_text, nullptr, false);
  if (arguments.is_discarded() || !arguments.is_object()) {
    return refuse(std::string(name) + ": the arguments must be a JSON object");
  }
  std::string problem;
  auto argument = [&](const char* key, Need need) {
    return string_argument(arguments, key, need, problem);
  };
  auto bad = [&]() { return refuse(std::string(name) + ": " + problem); };

  if (name == "list_files") {
    auto glob = argument("glob", Need::optional);
    return glob ? list_files(*glob) : bad();
  }
  if (name == "read_file") {
    auto path = argument("path", Need::non_empty);
    auto lines = path ? argument("lines", Need::optional) : std::nullopt;
    return lines ? read_file(*path, *lines) : bad();
  }
  if (name == "search") {
    auto regex = argument("regex", Need::non_empty);
    auto glob = regex ? argument("glob", Need::optional) : std::nullopt;
    return glob ? search(*regex, *glob) : bad();
  }
  if (name == "edit_file") {
    auto path = argument("path", Need::non_empty);
    auto old_text = path ? argument("old", Need::non_empty) : std::nullopt;
    auto new_text = old_text ? argument("new", Need::present) : std::nullopt;
    return new_text ? edit_file(*path, *old_text, *new_text) : bad();
  }
  if (name == "write_file") {
    auto path = argument("path", Need::non_empty);
    auto content = path ? argument("content", Need::present) : std::nullopt;
    return content ? write_file(*path, *content) : bad();
  }
  if (name == "run") {
    auto command = argument("command", Need::non_empty);
    return command ? run(*command) : bad();
  }
  if (name == "finish") {
    auto summary = argument("summary", Need::non_empty);
    return summary ? ToolResult{redact(*summary), false, true} : bad();
  }
  return refuse("unknown tool " + in_quotes(name) +
                "; the tools are list_files, read_file, search, edit_file, write_file, run and "
                "finish");
}

Result<SandboxResult> ToolBox::git(std::vector<std::string> args, std::size_t output_limit) const {
  // quotePath off: names are printed as they are (with -z) rather than octal-escaped.
  std::vector<std::string> argv = {"git", "-c", "core.quotePath=false"};
  argv.insert(argv.end(), std::make_move_iterator(args.begin()),
              std::make_move_iterator(args.end()));
  return sandbox_->run(
      SandboxCommand{std::move(argv), root_path_, false, {}, kGitTimeout, output_limit});
}

ToolResult ToolBox::list_files(std::string_view glob) {
  auto specs = pathspecs(glob);
  if (!specs) return refuse("list_files: " + specs.error().message);
  std::vector<std::string> args = {"ls-files",           "-z", "--cached", "--others",
                                   "--exclude-standard", "--"};
  args.insert(args.end(), specs->begin(), specs->end());
  auto listed = git(std::move(args), kListingBytes);
  if (!listed) return refuse("list_files: " + listed.error().message);
  if (!listed->succeeded()) {
    return refuse("list_files: git ls-files failed: " + listed->output);
  }
  if (listed->truncated) return refuse("list_files: too many files; narrow the glob");

  std::set<std::string> files;
  std::string_view rest = listed->output;
  while (!rest.empty()) {
    std::size_t end = rest.find('\0');
    std::string_view file = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    struct stat st {};
    // Tracked files deleted in the working tree are still in the index.
    if (!file.empty() &&
        fstatat(root_.get(), std::string(file).c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
      files.emplace(file);
    }
  }
  if (files.empty()) {
    return ok(glob.empty() ? "the repository has no files" : "no files match " + in_quotes(glob));
  }
  std::string text;
  std::size_t shown = 0;
  for (const std::string& file : files) {
    if (shown++ == limits_.list_entries) break;
    text += file;
    text.push_back('\n');
  }
  if (files.size() > limits_.list_entries) {
    text += "[... " + std::to_string(files.size() - limits_.list_entries) +
            " more files; narrow the glob]\n";
  }
  return ok(std::move(text));
}

ToolResult ToolBox::read_file(std::string_view path_text, std::string_view lines_text) {
  auto path = relative_path(path_text, false);
  if (!path) return refuse("read_file: " + path.error().message);
  std::optional<std::pair<std::size_t, std::size_t>> range;
  if (!lines_text.empty()) {
    range = parse_lines(lines_text);
    if (!range) {
      return refuse("read_file: `lines` must look like 120-180, 120- or 120 (1-based)");
    }
  }
  UniqueFd fd(open_beneath(root_.get(), *path, O_RDONLY | O_NONBLOCK));
  if (!fd) return refuse("read_file: " + open_error(*path, errno));
  struct stat st {};
  if (fstat(fd.get(), &st) != 0 || S_ISDIR(st.st_mode)) {
    return refuse("read_file: " + open_error(*path, EISDIR));
  }
  if (!S_ISREG(st.st_mode))
    return refuse("read_file: " + in_quotes(*path) + " is not a regular file");
  auto size = static_cast<std::size_t>(st.st_size);
  if (size > limits_.file_bytes) {
    return refuse("read_file: " + in_quotes(*path) + " is too large (" + std::to_string(size) +
                  " bytes) to read whole; use run with head, sed -n or grep");
  }
  auto content = read_all(fd.get(), size);
  if (!content) return refuse("read_file: " + in_quotes(*path) + ": " + content.error().message);
  if (content->empty()) return ok(*path + " is empty");
  if (looks_binary(*content)) {
    return ok(*path + " is a binary file (" + std::to_string(content->size()) + " bytes)");
  }

  std::size_t total = count_lines(*content);
  auto [first, last] = range.value_or(std::pair<std::size_t, std::size_t>{1, total});
  last = std::min(last, total);
  if (first > total) {
    return refuse("read_file: " + in_quotes(*path) + " has only " + std::to_string(total) +
                  " lines");
  }
  std::string text;
  std::string_view rest = *content;
  std::size_t number = 0;
  std::size_t shown_last = first - 1;
  while (!rest.empty() && number < last) {
    std::size_t end = rest.find('\n');
    std::string_view line = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    if (++number < first) continue;
    char prefix[24];
    std::snprintf(prefix, sizeof prefix, "%6zu\t", number);
    if (text.size() + line.size() + 8 > limits_.read_bytes && number > first) break;
    text += prefix;
    text += cut_line(line, limits_.read_bytes);
    text.push_back('\n');
    shown_last = number;
  }
  if (first != 1 || shown_last != total) {
    text += "[lines " + std::to_string(first) + "-" + std::to_string(shown_last) + " of " +
            std::to_string(total);
    if (shown_last < last) {
      text +=
          "; output limit reached, continue with lines \"" + std::to_string(shown_last + 1) + "-\"";
    }
    text += "]\n";
  }
  return ok(std::move(text));
}

ToolResult ToolBox::search(std::string_view regex, std::string_view glob) {
  auto specs = pathspecs(glob);
  if (!specs) return refuse("search: " + specs.error().message);
  std::vector<std::string> args = {"grep",
                                   "--no-color",
                                   "-n",
                                   "-z",
                                   "-I",
                                   "-P",
                                   "--untracked",
                                   "--max-count",
                                   std::to_string(limits_.search_matches_per_file),
                                   "-e",
                                   std::string(regex),
                                   "--"};
  args.insert(args.end(), specs->begin(), specs->end());
  auto found = git(std::move(args), kSearchOutputBytes);
  if (!found) return refuse("search: " + found.error().message);
  if (found->timed_out) return refuse("search: timed out; narrow the glob or simplify the regex");
  if (found->exit_code == 1 && !found->truncated) return ok("no matches");
  if (found->exit_code != 0) {
    return refuse("search: git grep failed (" + std::to_string(found->exit_code) +
                  "): " + found->output);
  }

  std::string text;
  std::size_t shown = 0;
  bool more = found->truncated;
  std::string_view rest = found->output;
  while (!rest.empty()) {
    std::size_t end = rest.find('\n');
    std::string_view record = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    // path NUL line NUL text
    std::size_t first = record.find('\0');
    std::size_t second = first == std::string_view::npos ? first : record.find('\0', first + 1);
    if (second == std::string_view::npos) continue;
    if (shown == limits_.search_matches) {
      more = true;
      break;
    }
    text += std::string(record.substr(0, first)) + ":" +
            std::string(record.substr(first + 1, second - first - 1)) + ": " +
            cut_line(record.substr(second + 1), limits_.line_chars) + "\n";
    ++shown;
  }
  if (more) {
    text += "[more matches not shown; narrow the regex or the glob]\n";
  }
  return ok(std::move(text));
}

ToolResult ToolBox::edit_file(std::string_view path_text, std::string_view old_text,
                              std::string_view new_text) {
  auto path = relative_path(path_text, true);
  if (!path) return refuse("edit_file: " + path.error().message);
  UniqueFd fd(open_beneath(root_.get(), *path, O_RDWR | O_NOFOLLOW | O_NONBLOCK));
  if (!fd) return refuse("edit_file: " + open_error(*path, errno));
  struct stat st {};
  if (fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return refuse("edit_file: " + in_quotes(*path) + " is not a regular file");
  }
  auto resolved = resolved_relative(fd.get(), root_path_);
  if (!resolved || touches_git_dir(*resolved)) {
    return refuse("edit_file: " + in_quotes(*path) + " resolves into .git; refused");
  }
  if (st.st_nlink > 1) {
    return refuse("edit_file: " + in_quotes(*path) +
                  " has several hard links (it may be shared outside the repository); refused");
  }
  auto size = static_cast<std::size_t>(st.st_size);
  if (size > limits_.file_bytes) {
    return refuse("edit_file: " + in_quotes(*path) + " is too large (" + std::to_string(size) +
                  " bytes) to edit");
  }
  auto content = read_all(fd.get(), size);
  if (!content) return refuse("edit_file: " + in_quotes(*path) + ": " + content.error().message);

  std::size_t at = content->find(old_text);
  if (at == std::string::npos) {
    return refuse("edit_file: `old` was not found in " + in_quotes(*path) +
                  ". It must match the file exactly, indentation and whitespace included, "
                  "without line-number prefixes; read the file again and copy the text");
  }
  std::size_t occurrences = 1;
  for (std::size_t next = content->find(old_text, at + 1); next != std::string::npos;
       next = content->find(old_text, next + 1)) {
    ++occurrences;
  }
  if (occurrences > 1) {
    return refuse("edit_file: `old` occurs " + std::to_string(occurrences) + " times in " +
                  in_quotes(*path) + "; include more surrounding lines so it matches exactly once");
  }
  std::string updated = content->substr(0, at);
  updated += new_text;
  updated += content->substr(at + old_text.size());
  if (updated.size() > limits_.file_bytes) {
    return refuse("edit_file: the result would be too large (" + std::to_string(updated.size()) +
                  " bytes)");
  }
  if (auto written = replace_content(fd.get(), updated); !written) {
    return refuse("edit_file: " + in_quotes(*path) + ": " + written.error().message);
  }
  std::size_t line = count_lines(std::string_view(*content).substr(0, at + 1));
  return ok("edited " + *path + " at line " + std::to_string(line) + ": " +
            std::to_string(count_lines(old_text)) + " line(s) replaced by " +
            std::to_string(count_lines(new_text)) + " line(s)");
}

ToolResult ToolBox::write_file(std::string_view path_text, std::string_view content) {
  auto path = relative_path(path_text, true);
  if (!path) return refuse("write_file: " + path.error().message);
  if (content.size() > limits_.write_bytes) {
    return refuse("write_file: the content is too large (" + std::to_string(content.size()) +
                  " bytes; at most " + std::to_string(limits_.write_bytes) + ")");
  }
  std::vector<std::string_view> parts = split_path(*path);
  UniqueFd parent(fcntl(root_.get(), F_DUPFD_CLOEXEC, 0));
  std::string prefix;
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    if (!prefix.empty()) prefix.push_back('/');
    prefix += parts[i];
    UniqueFd dir(open_beneath(root_.get(), prefix, O_PATH | O_DIRECTORY));
    if (!dir && errno == ENOENT) {
      std::string name(parts[i]);
      if (mkdirat(parent.get(), name.c_str(), 0755) != 0 && errno != EEXIST) {
        return refuse("write_file: cannot create " + in_quotes(prefix) + ": " +
                      std::strerror(errno));
      }
      dir.reset(open_beneath(root_.get(), prefix, O_PATH | O_DIRECTORY));
    }
    if (!dir) return refuse("write_file: " + open_error(prefix, errno));
    parent = std::move(dir);
  }
  auto resolved = resolved_relative(parent.get(), root_path_);
  if (!resolved || touches_git_dir(*resolved)) {
    return refuse("write_file: " + in_quotes(*path) + " resolves into .git; refused");
  }
  std::string leaf(parts.back());
  constexpr int kFlags = O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC;
  UniqueFd fd(openat(parent.get(), leaf.c_str(), kFlags));
  bool created = false;
  if (!fd && errno == ENOENT) {
    fd.reset(openat(parent.get(), leaf.c_str(), kFlags | O_CREAT | O_EXCL, 0644));
    created = true;
  }
  if (!fd) return refuse("write_file: " + open_error(*path, errno));
  struct stat st {};
  if (fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return refuse("write_file: " + in_quotes(*path) + " is not a regular file");
  }
  if (st.st_nlink > 1) {
    return refuse("write_file: " + in_quotes(*path) +
                  " has several hard links (it may be shared outside the repository); refused");
  }
  if (auto written = replace_content(fd.get(), content); !written) {
    return refuse("write_file: " + in_quotes(*path) + ": " + written.error().message);
  }
  return ok(std::string(created ? "wrote " : "replaced ") + *path + " (" +
            std::to_string(content.size()) + " bytes, " + std::to_string(count_lines(content)) +
            " lines)");
}

ToolResult ToolBox::run(std::string_view command) {
  std::vector<std::string> argv = {"sh", "-c", std::string(command)};
  std::chrono::milliseconds timeout = limits_.run_timeout;
  if (run_cap_.count() > 0) timeout = timeout.count() > 0 ? std::min(timeout, run_cap_) : run_cap_;
  auto result = sandbox_->run(SandboxCommand{argv,
                                             root_path_,
                                             limits_.network,
                                             {},
                                             timeout,
                                             limits_.run_output_bytes,
                                             {},
                                             {},
                                             limits_.cancel});
  if (!result) return refuse("run: " + result.error().message);
  CommandRecord record{{}, result->exit_code, result->signal, result->timed_out, result->duration};
  for (const std::string& arg : argv) record.argv.push_back(redact(arg));
  commands_.push_back(std::move(record));
  std::string text = "[" + describe(*result) + "]\n" + result->output;
  return ok(std::move(text));
}

}  // namespace forgehand::runner
