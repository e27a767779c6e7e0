// The driver bench/workspace runs: `generate` writes the synthetic repository as a git
// fast-import stream (deterministic: the same arguments give the same commits, ids included), and
// `prepare` runs Workspace::prepare once, as the runner does for a job. Single-threaded.
//
//   forgehand_bench_workspace generate FILES COMMITS
//   forgehand_bench_workspace prepare ROOT URL USER SESSION REF   (password in
//   FORGEHAND_BENCH_PASSWORD)

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "runner/index_pack.h"
#include "runner/workspace.h"

namespace {

// splitmix64: tiny, fast and the same on every platform, unlike std's distributions.
struct Random {
  std::uint64_t state;
  std::uint64_t next() {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
};

constexpr int kFilesPerDirectory = 100;
constexpr int kLinesPerFile = 80;
constexpr int kFilesPerCommit = 3;
constexpr int kLinesPerChange = 8;

// A line is indentation and words drawn from its seed: it compresses about as well as source
// code does, so the pack's size is a real repository's.
void append_line(std::string& out, std::uint64_t seed) {
  static constexpr const char* kWords[] = {
      "return", "const",  "auto",  "if",     "else",   "for",   "while",  "std::string",
      "size_t", "result", "value", "count",  "buffer", "error", "index",  "options",
      "config", "parse",  "write", "read",   "update", "check", "handle", "request",
      "reply",  "token",  "cache", "mirror", "commit", "tree",  "branch", "session"};
  Random random{seed};
  std::uint64_t bits = random.next();
  out.append(2 * (bits & 3), ' ');
  bits >>= 2;
  int words = 4 + static_cast<int>(bits % 8);
  bits >>= 3;
  for (int word = 0; word < words; ++word) {
    out += kWords[bits & 31];
    bits >>= 5;
    out += word + 1 < words ? (word % 3 == 2 ? ", " : " ") : ";\n";
  }
}

std::string path_of(int file) {
  char path[64];
  std::snprintf(path, sizeof path, "src/mod_%03d/unit_%05d.cpp", file / kFilesPerDirectory, file);
  return path;
}

void put_data(std::string& out, std::string_view data) {
  out += "data " + std::to_string(data.size()) + "\n";
  out += data;
  out += "\n";
}

int generate(int files, int commits) {
  Random random{0x666f72676568616eULL};
  std::vector<std::vector<std::uint64_t>> lines(files, std::vector<std::uint64_t>(kLinesPerFile));
  for (auto& file : lines) {
    for (auto& line : file) line = random.next();
  }
  std::string out;
  std::string content;
  auto put_file = [&](int file) {
    content.clear();
    for (std::uint64_t seed : lines[file]) append_line(content, seed);
    out += "M 100644 inline " + path_of(file) + "\n";
    put_data(out, content);
  };
  for (int commit = 0; commit < commits; ++commit) {
    out += "commit refs/heads/main\n";
    out += "committer Bench <bench@example.com> " + std::to_string(1'700'000'000 + commit * 60) +
           " +0000\n";
    put_data(out, commit == 0 ? "Initial import\n" : "Change " + std::to_string(commit) + "\n");
    if (commit == 0) {
      for (int file = 0; file < files; ++file) put_file(file);
    } else {
      for (int n = 0; n < kFilesPerCommit; ++n) {
        int file = static_cast<int>(random.next() % static_cast<std::uint64_t>(files));
        for (int k = 0; k < kLinesPerChange; ++k) {
          lines[file][random.next() % kLinesPerFile] = random.next();
        }
        put_file(file);
      }
    }
    out += "\n";
    if (out.size() > (1 << 20)) {
      std::fwrite(out.data(), 1, out.size(), stdout);
      out.clear();
    }
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  return std::fflush(stdout) == 0 ? 0 : 1;
}

int prepare(const std::string& root, const std::string& url, const std::string& user,
            const std::string& session, const std::string& ref) {
  const char* password = std::getenv("FORGEHAND_BENCH_PASSWORD");
  auto workspace =
      forgehand::runner::Workspace::open({root, "", forgehand::runner::find_git_program()});
  if (!workspace) {
    std::cerr << workspace.error().message << "\n";
    return 1;
  }
  auto checkout = (*workspace)
                      ->prepare({"bench",
                                 "bench/synthetic",
                                 {url, user, forgehand::Secret(password ? password : "")}},
                                {session, "bench", {ref}, ""});
  if (!checkout) {
    std::cerr << checkout.error().message << "\n";
    return 1;
  }
  std::cout << checkout->path << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() == 3 && args[0] == "generate") {
    return generate(std::stoi(args[1]), std::stoi(args[2]));
  }
  if (args.size() == 6 && args[0] == "prepare") {
    return prepare(args[1], args[2], args[3], args[4], args[5]);
  }
  std::cerr << "usage: forgehand_bench_workspace generate FILES COMMITS\n"
               "       forgehand_bench_workspace prepare ROOT URL USER SESSION REF\n";
  return 2;
}
