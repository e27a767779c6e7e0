// Parse tests: tables of {fixture → Event fields or ignored}, and every fixture fed whole,
// truncated and with fields removed or retyped, which must never throw or crash.
#include <doctest/doctest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "forges/forge_registry.h"
#include "server/intake.h"
#include "support/fixtures.h"
#include "util/http_client.h"

using namespace forgehand;

namespace {

ForgeKind kind_of(std::string_view fixture) {
  return *parse_forge_kind(fixture.substr(0, fixture.find('/')));
}

Delivery delivery_from(const testing::Fixture& fixture, ForgeKind kind) {
  Delivery delivery;
  delivery.instance = std::string(to_string(kind));
  delivery.delivery_id = "d-1";
  delivery.event = fixture.headers.at(std::string(event_header(kind)));
  delivery.headers = fixture.headers;
  delivery.body = fixture.body;
  return delivery;
}

std::unique_ptr<Forge> forge_for(ForgeKind kind, std::string bot_login = "") {
  static const HttplibClient http;
  ApiDependencies dependencies{http, system_clock(), real_sleeper()};
  auto forge = make_forge(
      ForgeSettings{std::string(to_string(kind)), kind, "", std::move(bot_login), "", {}, {}},
      dependencies);
  REQUIRE(forge.has_value());
  return std::move(*forge);
}

Result<Parsed> parse_fixture(const std::string& name, std::string bot_login = "") {
  ForgeKind kind = kind_of(name);
  return forge_for(kind, std::move(bot_login))
      ->parse(delivery_from(testing::load_fixture(name), kind));
}

std::string join(const std::vector<std::string>& values) {
  std::string out;
  for (const auto& value : values) out += (out.empty() ? "" : ",") + value;
  return out;
}

std::string field(const Event& e, std::string_view name) {
  auto flag = [](bool value) { return std::string(value ? "true" : "false"); };
  if (name == "kind") return std::string(to_string(e.kind));
  if (name == "action") return e.action;
  if (name == "repo") return e.repo.full_name;
  if (name == "repo_id") return e.repo.id;
  if (name == "number") return std::to_string(e.number);
  if (name == "pr") return flag(e.is_pull_request);
  if (name == "actor") return e.actor.login;
  if (name == "bot") return flag(e.actor.is_bot);
  if (name == "self") return flag(e.actor.is_self);
  if (name == "comment_id") return e.comment_id;
  if (name == "comment_body") return e.comment_body;
  if (name == "head_sha") return e.head_sha;
  if (name == "head_ref") return e.head_ref;
  if (name == "base_ref") return e.base_ref;
  if (name == "fork") return flag(e.from_fork);
  if (name == "ci_run_id") return e.ci_run_id;
  if (name == "ci_job_ids") return join(e.ci_job_ids);
  if (name == "ci_conclusion") return e.ci_conclusion;
  if (name == "ci_check") return e.ci_check;
  if (name == "merged") return flag(e.merged);
  if (name == "merged_by") return e.merged_by;
  if (name == "installation_id") return e.repo.installation_id;
  if (name == "repositories") return join(e.repositories);
  FAIL("unknown field " << name);
  return {};
}

struct Expected {
  const char* fixture;
  std::vector<std::pair<const char*, const char*>> fields;  // empty with `ignored` set
  const char* ignored = nullptr;                            // a part of the reason
};

void check(const Expected& expected) {
  CAPTURE(expected.fixture);
  auto parsed = parse_fixture(expected.fixture);
  REQUIRE_MESSAGE(parsed.has_value(), parsed.error().message);
  if (expected.ignored != nullptr) {
    REQUIRE(std::holds_alternative<Ignored>(*parsed));
    CHECK(std::get<Ignored>(*parsed).reason.find(expected.ignored) != std::string::npos);
    return;
  }
  REQUIRE(std::holds_alternative<Event>(*parsed));
  const Event& event = std::get<Event>(*parsed);
  CHECK(event.delivery_id == "d-1");
  for (const auto& [name, value] : expected.fields) {
    CAPTURE(name);
    CHECK(field(event, name) == value);
  }
}

}  // namespace

TEST_CASE("GitHub payloads become events") {
  const Expected table[] = {
      {"github/issue_comment.created.issue",
       {{"kind", "comment"},
        {"repo", "Codertocat/Hello-World"},
        {"repo_id", "186853002"},
        {"number", "1"},
        {"pr", "false"},
        {"comment_id", "492700400"},
        {"actor", "Codertocat"},
        {"bot", "false"},
        {"installation_id", "1"}}},
      {"github/check_run.completed.failure",
       {{"kind", "ci_failed"},
        {"ci_job_ids", "128620228"},
        {"ci_run_id", "check-suite:118578147"},
        {"ci_conclusion", "failure"},
        {"ci_check", ""},
        {"number", "2"},
        {"pr", "true"},
        {"head_sha", "ec26c3e57ca3a959ca5aad62de7213c562f8c821"}}},
      {"github/workflow_job.completed.failure",
       {{"kind", "ci_failed"},
        {"ci_check", ""},
        {"ci_job_ids", "289782451"},
        {"ci_run_id", "2202229078"},
        {"number", "0"},
        {"head_sha", "3484a3fb816e0859fd6e1cea078d76385ff50625"}}},
      {"github/check_suite.completed.success",
       {{"kind", "ci_passed"},
        {"repo", "Codertocat/Hello-World"},
        {"ci_conclusion", "success"},
        {"ci_run_id", "check-suite:118578147"},
        {"ci_check", "check suite 118578147"},
        {"head_sha", "ec26c3e57ca3a959ca5aad62de7213c562f8c821"},
        {"number", "2"},
        {"pr", "true"}}},
      // Its check suite reports the run: one verdict per run.
      {"github/workflow_run.completed.success.with_pull_requests", {}, "concluded success"},
      {"github/pull_request.closed.unmerged",
       {{"kind", "pr_closed"},
        {"number", "2"},
        {"merged", "false"},
        {"merged_by", ""},
        {"actor", "Codertocat"},
        {"fork", "false"},
        {"head_sha", "ec26c3e57ca3a959ca5aad62de7213c562f8c821"}}},
      {"github/pull_request.closed.merged",
       {{"kind", "pr_closed"}, {"number", "62"}, {"merged", "true"}, {"merged_by", "anbraten"}}},
      {"github/installation.created",
       {{"kind", "installation"},
        {"action", "created"},
        {"installation_id", "957387"},
        {"repositories", "Codertocat/Hello-World"}}},
      {"github/installation_repositories.added",
       {{"kind", "installation"}, {"action", "added"}, {"repositories", "Codertocat/Space"}}},
      {"github/issue_comment.created.pull_request",
       {{"kind", "comment"},
        {"number", "2"},
        {"pr", "true"},
        {"comment_id", "1543289016"},
        {"comment_body", "@forgehand fix the flaky test"}}},
      {"github/check_suite.completed.failure.fork",
       {{"kind", "ci_failed"},
        {"number", "0"},
        {"pr", "false"},
        {"ci_run_id", "check-suite:118578147"},
        {"ci_check", "check suite 118578147"},
        {"head_sha", "4f7d3c52a1b8e0f69c2d4a7e91b3c5d8f0a2e6b4"},
        {"head_ref", ""}}},
      {"github/workflow_run.completed.failure",
       {{"kind", "ci_failed"},
        {"ci_check", ""},
        {"number", "42"},
        {"pr", "true"},
        {"ci_run_id", "6112488003"},
        {"head_ref", "fix-flaky-test"},
        {"base_ref", "master"},
        {"fork", "false"},
        {"actor", "Codertocat"}}},
      {"github/workflow_run.completed.failure.fork",
       {{"kind", "ci_failed"},
        {"number", "0"},
        {"fork", "true"},
        {"actor", "octocat"},
        {"head_sha", "7a3f9d2c8b1e4f6a0c5d9e2b7f1a3c8d4e6b0f92"}}},
  };
  for (const Expected& expected : table) check(expected);
}

TEST_CASE("GitLab payloads become events") {
  const Expected table[] = {
      {"gitlab/note_hook.merge_request",
       {{"kind", "comment"},
        {"repo", "gitlab-org/gitlab-test"},
        {"repo_id", "5"},
        {"number", "1"},
        {"pr", "true"},
        {"comment_id", "1244"},
        {"actor", "root"}}},
      {"gitlab/note_hook.issue",
       {{"kind", "comment"}, {"number", "17"}, {"pr", "false"}, {"comment_id", "1241"}}},
      {"gitlab/merge_request_hook.merge",
       {{"kind", "pr_closed"},
        {"action", "merge"},
        {"number", "4"},
        {"merged", "true"},
        {"merged_by", "anbraten"},
        {"actor", "anbraten"},
        {"fork", "false"}}},
      {"gitlab/merge_request_hook.open", {}, "merge request open"},
      {"gitlab/pipeline_hook.mr_pipeline",
       {{"kind", "ci_passed"},
        {"repo", "gitlab-org/gitlab-test"},
        {"ci_conclusion", "success"},
        {"ci_run_id", "31"},
        {"ci_check", "pipeline 31"},
        {"head_sha", "bcbb5ec396a2c0f828686f14fac9b80b780504f2"},
        {"number", "1"},
        {"pr", "true"}}},
      {"gitlab/pipeline_hook.failed.mr",
       {{"kind", "ci_failed"},
        {"number", "12"},
        {"pr", "true"},
        {"ci_run_id", "1287"},
        {"ci_check", "pipeline 1287"},
        {"ci_job_ids", "9019"},
        {"head_sha", "8b6f3e1c2a9d4f7e0b5c3a1d9e8f7a6b5c4d3e2f"},
        {"actor", "jdoe"}}},
      {"gitlab/pipeline_hook.failed.branch",
       {{"kind", "ci_failed"},
        {"number", "0"},
        {"pr", "false"},
        {"ci_job_ids", "9105"},
        {"head_ref", "main"}}},
      {"gitlab/note_hook.system", {}, "system note"},
  };
  for (const Expected& expected : table) check(expected);
}

TEST_CASE("Gitea and Forgejo payloads become events") {
  const Expected table[] = {
      {"gitea/issue_comment.created.on_pr.legacy",
       {{"kind", "comment"},
        {"repo", "gogits/hello-world"},
        {"number", "2"},
        {"pr", "true"},
        {"comment_id", "45"},
        {"actor", "unknwon"}}},
      {"gitea/pull_request.closed.merged",
       {{"kind", "pr_closed"},
        {"number", "1"},
        {"merged", "true"},
        {"merged_by", "anbraten"},
        {"fork", "false"},
        {"head_sha", "d555a5dd07f4d0148a58d4686ec381502ae6a2d4"}}},
      {"gitea/pull_request.closed.unmerged",
       {{"kind", "pr_closed"}, {"merged", "false"}, {"merged_by", ""}}},
      {"forgejo/pull_request.closed.merged",
       {{"kind", "pr_closed"},
        {"merged", "true"},
        {"merged_by", "anbraten"},
        {"repo", "anbraten/test-repo"}}},
      {"forgejo/pull_request.closed.unmerged",
       {{"kind", "pr_closed"}, {"merged", "false"}, {"merged_by", ""}}},
      {"gitea/issue_comment.created.on_pr",
       {{"kind", "comment"},
        {"repo", "alice/widgets"},
        {"number", "12"},
        {"pr", "true"},
        {"comment_id", "1042"},
        {"actor", "alice"},
        {"head_ref", "fix-flaky-test"},
        {"base_ref", "main"},
        {"fork", "false"}}},
      {"gitea/issue_comment.created.on_issue",
       {{"kind", "comment"}, {"number", "13"}, {"pr", "false"}, {"comment_id", "1045"}}},
      {"gitea/status.failure",
       {{"kind", "ci_failed"},
        {"ci_conclusion", "failure"},
        {"ci_check", "status CI / test (pull_request)"},
        {"number", "0"},
        {"head_sha", "5e9c1d7a3f2b8e4c6a0d9f1b3e5c7a2d4f6b8e01"},
        {"actor", "gitea-actions"}}},
      {"gitea/status.success",
       {{"kind", "ci_passed"},
        {"ci_conclusion", "success"},
        {"ci_check", "status CI / test (pull_request)"},
        {"repo", "alice/widgets"},
        {"head_sha", "5e9c1d7a3f2b8e4c6a0d9f1b3e5c7a2d4f6b8e01"}}},
      {"gitea/workflow_job.completed.failure",
       {{"kind", "ci_failed"},
        {"ci_check", ""},
        {"ci_job_ids", "1201"},
        {"ci_run_id", "317"},
        {"actor", "bob"}}},
      {"gitea/workflow_run.completed.failure",
       {{"kind", "ci_failed"},
        {"ci_run_id", "318"},
        {"ci_check", "workflow run 318"},
        {"head_sha", "5e9c1d7a3f2b8e4c6a0d9f1b3e5c7a2d4f6b8e01"}}},
      {"gitea/workflow_run.completed.success",
       {{"kind", "ci_passed"},
        {"ci_conclusion", "success"},
        {"ci_run_id", "318"},
        {"ci_check", "workflow run 318"},
        {"head_sha", "5e9c1d7a3f2b8e4c6a0d9f1b3e5c7a2d4f6b8e01"}}},
      {"forgejo/issue_comment.created.on_pr",
       {{"kind", "comment"},
        {"number", "12"},
        {"pr", "true"},
        {"comment_id", "1042"},
        {"head_ref", "fix-flaky-test"}}},
      {"forgejo/action_run_failure",
       {{"kind", "ci_failed"},
        {"repo", "alice/widgets"},
        {"ci_run_id", "318"},
        {"ci_check", "run 318"},
        {"number", "12"},
        {"pr", "true"},
        {"actor", "bob"},
        {"fork", "false"},
        {"head_sha", "5e9c1d7a3f2b8e4c6a0d9f1b3e5c7a2d4f6b8e01"}}},
      {"forgejo/action_run_success",
       {{"kind", "ci_passed"},
        {"repo", "alice/widgets"},
        {"ci_conclusion", "success"},
        {"ci_run_id", "318"},
        {"ci_check", "run 318"},
        {"number", "12"},
        {"head_sha", "5e9c1d7a3f2b8e4c6a0d9f1b3e5c7a2d4f6b8e01"}}},
  };
  for (const Expected& expected : table) check(expected);
}

TEST_CASE("forgehand's own commit status is not CI, and passing jobs and recoveries add nothing") {
  // Gitea reports the status forgehand sets on what it pushed.
  auto own = testing::load_fixture("gitea/status.success");
  auto status = nlohmann::json::parse(own.body);
  status["context"] = "forgehand";
  own.body = status.dump();
  auto own_status = forge_for(ForgeKind::gitea)->parse(delivery_from(own, ForgeKind::gitea));
  REQUIRE(own_status.has_value());
  CHECK(std::get<Ignored>(*own_status).reason == "forgehand's own commit status");

  // On GitLab that status makes an `external` pipeline when the commit has no branch pipeline.
  auto external = testing::load_fixture("gitlab/pipeline_hook.mr_pipeline");
  auto pipeline = nlohmann::json::parse(external.body);
  pipeline["object_attributes"]["source"] = "external";
  external.body = pipeline.dump();
  auto by_someone = forge_for(ForgeKind::gitlab)->parse(delivery_from(external, ForgeKind::gitlab));
  REQUIRE(by_someone.has_value());
  CHECK(std::get<Event>(*by_someone).kind == EventKind::ci_passed);  // another CI's statuses
  auto by_self =
      forge_for(ForgeKind::gitlab, "root")->parse(delivery_from(external, ForgeKind::gitlab));
  REQUIRE(by_self.has_value());
  CHECK(std::get<Ignored>(*by_self).reason == "pipeline made by forgehand's own commit status");

  auto job = testing::load_fixture("gitea/workflow_job.completed.failure");
  auto job_json = nlohmann::json::parse(job.body);
  job_json["workflow_job"]["conclusion"] = "success";
  job.body = job_json.dump();
  auto passed_job = forge_for(ForgeKind::gitea)->parse(delivery_from(job, ForgeKind::gitea));
  REQUIRE(passed_job.has_value());
  CHECK(std::get<Ignored>(*passed_job).reason == "workflow_job concluded success");

  auto recover = testing::load_fixture("forgejo/action_run_success");
  recover.headers["x-forgejo-event"] = "action_run_recover";
  auto recovered = forge_for(ForgeKind::forgejo)->parse(delivery_from(recover, ForgeKind::forgejo));
  REQUIRE(recovered.has_value());
  CHECK(std::get<Ignored>(*recovered).reason == "action_run_recover");

  auto neutral = testing::load_fixture("github/check_suite.completed.success");
  auto suite = nlohmann::json::parse(neutral.body);
  suite["check_suite"]["conclusion"] = "neutral";
  neutral.body = suite.dump();
  auto not_a_verdict =
      forge_for(ForgeKind::github)->parse(delivery_from(neutral, ForgeKind::github));
  REQUIRE(not_a_verdict.has_value());
  CHECK(std::get<Ignored>(*not_a_verdict).reason == "check_suite concluded neutral");
}

TEST_CASE("bots and forgehand's own account are recognised") {
  auto self = parse_fixture("github/issue_comment.created.issue", "codertocat");
  REQUIRE(self.has_value());
  CHECK(std::get<Event>(*self).actor.is_self);
  CHECK(std::get<Event>(*self).actor.is_bot);

  auto fixture = testing::load_fixture("github/issue_comment.created.issue");
  auto json = nlohmann::json::parse(fixture.body);
  json["comment"]["user"]["type"] = "Bot";
  json["comment"]["user"]["login"] = "dependabot[bot]";
  fixture.body = json.dump();
  auto bot = forge_for(ForgeKind::github)->parse(delivery_from(fixture, ForgeKind::github));
  REQUIRE(bot.has_value());
  CHECK(std::get<Event>(*bot).actor.is_bot);
  CHECK_FALSE(std::get<Event>(*bot).actor.is_self);

  auto note = testing::load_fixture("gitlab/note_hook.issue");
  auto note_json = nlohmann::json::parse(note.body);
  note_json["user"]["username"] = "project_278964_bot_7fb2c1b7c5";
  note.body = note_json.dump();
  auto project_bot = forge_for(ForgeKind::gitlab)->parse(delivery_from(note, ForgeKind::gitlab));
  REQUIRE(project_bot.has_value());
  CHECK(std::get<Event>(*project_bot).actor.is_bot);
}

TEST_CASE("actions forgehand does not act on are ignored with a reason") {
  auto edited = testing::load_fixture("github/issue_comment.created.issue");
  auto json = nlohmann::json::parse(edited.body);
  json["action"] = "edited";
  edited.body = json.dump();
  auto parsed = forge_for(ForgeKind::github)->parse(delivery_from(edited, ForgeKind::github));
  REQUIRE(parsed.has_value());
  CHECK(std::get<Ignored>(*parsed).reason.find("comment edited") != std::string::npos);

  auto system = testing::load_fixture("gitlab/note_hook.merge_request");
  auto note = nlohmann::json::parse(system.body);
  note["object_attributes"]["system"] = true;
  system.body = note.dump();
  auto system_note = forge_for(ForgeKind::gitlab)->parse(delivery_from(system, ForgeKind::gitlab));
  REQUIRE(system_note.has_value());
  CHECK(std::get<Ignored>(*system_note).reason == "system note");

  auto push = testing::load_fixture("gitea/pull_request.closed.merged");
  push.headers["x-gitea-event"] = "push";
  auto unhandled = forge_for(ForgeKind::gitea)->parse(delivery_from(push, ForgeKind::gitea));
  REQUIRE(unhandled.has_value());
  CHECK(std::get<Ignored>(*unhandled).reason == "gitea event push is not handled");
}

TEST_CASE("a missing or mistyped field is a malformed error that names it") {
  auto fixture = testing::load_fixture("github/issue_comment.created.issue");
  auto json = nlohmann::json::parse(fixture.body);
  json["comment"].erase("body");
  fixture.body = json.dump();
  auto missing = forge_for(ForgeKind::github)->parse(delivery_from(fixture, ForgeKind::github));
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().code == ErrorCode::malformed);
  CHECK(missing.error().message == "github: parse issue_comment: comment.body is missing");

  json["comment"]["body"] = 42;
  fixture.body = json.dump();
  auto retyped = forge_for(ForgeKind::github)->parse(delivery_from(fixture, ForgeKind::github));
  REQUIRE_FALSE(retyped.has_value());
  CHECK(retyped.error().message == "github: parse issue_comment: comment.body is not a string");

  fixture.body = "[1, 2]";
  auto not_object = forge_for(ForgeKind::github)->parse(delivery_from(fixture, ForgeKind::github));
  REQUIRE_FALSE(not_object.has_value());
  CHECK(not_object.error().message.find("is not a JSON object") != std::string::npos);
}

namespace {

// Every path to a value in `json`, e.g. "comment.user.login", "pull_requests.0".
void collect_paths(const nlohmann::json& json, const nlohmann::json::json_pointer& at,
                   std::vector<nlohmann::json::json_pointer>& out) {
  if (json.is_object()) {
    for (const auto& [key, value] : json.items()) {
      out.push_back(at / key);
      collect_paths(value, at / key, out);
    }
  } else if (json.is_array()) {
    for (std::size_t i = 0; i < json.size(); ++i) {
      out.push_back(at / i);
      collect_paths(json[i], at / i, out);
    }
  }
}

// A parse that returns anything but a result or a malformed error is a bug; so is a throw.
void parse_survives(const Forge& forge, Delivery& delivery, const std::string& body) {
  delivery.body = body;
  Result<Parsed> parsed = tl::unexpected(Error{});
  CHECK_NOTHROW(parsed = forge.parse(delivery));
  if (!parsed) CHECK(parsed.error().code == ErrorCode::malformed);
}

}  // namespace

TEST_CASE("every fixture survives truncation, removed fields and retyped fields") {
  const std::filesystem::path root = std::filesystem::path(FORGEHAND_SOURCE_DIR) / "fixtures";
  const nlohmann::json replacements[] = {
      nullptr, 0, -1, "x", nlohmann::json::array(), nlohmann::json::object(), true, 1.5};
  std::size_t fixtures = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) {
    if (entry.path().extension() != ".json") continue;
    std::string name = std::filesystem::relative(entry.path(), root).replace_extension().string();
    CAPTURE(name);
    ++fixtures;
    ForgeKind kind = kind_of(name);
    auto fixture = testing::load_fixture(name);
    auto forge = forge_for(kind);
    Delivery delivery = delivery_from(fixture, kind);

    parse_survives(*forge, delivery, fixture.body);
    for (std::size_t cut = 0; cut < fixture.body.size(); cut += fixture.body.size() / 64 + 1) {
      parse_survives(*forge, delivery, fixture.body.substr(0, cut));
    }

    auto json = nlohmann::json::parse(fixture.body);
    std::vector<nlohmann::json::json_pointer> paths;
    collect_paths(json, nlohmann::json::json_pointer(), paths);
    // Bounded: at most 150 paths a fixture, spread over the whole payload.
    std::size_t step = paths.size() / 150 + 1;
    for (std::size_t i = 0; i < paths.size(); i += step) {
      auto removed = json;
      const auto& path = paths[i];
      auto& parent = removed.at(path.parent_pointer());
      if (parent.is_object()) {
        parent.erase(path.back());
      } else {
        parent.erase(static_cast<std::size_t>(std::stoul(path.back())));
      }
      parse_survives(*forge, delivery, removed.dump());
      for (const auto& replacement : replacements) {
        auto retyped = json;
        retyped.at(path) = replacement;
        parse_survives(*forge, delivery, retyped.dump());
      }
    }
  }
  CHECK(fixtures >= 33);
}
