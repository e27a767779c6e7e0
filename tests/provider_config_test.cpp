// Provider and route configuration: validation with key paths and lines, defaults per kind, and
// a ProviderSet built from it that routes real requests to fake provider APIs.
#include <doctest/doctest.h>
#include <stdlib.h>

#include <fstream>

#include "config/server_config.h"
#include "providers/provider_set.h"
#include "support/fake_anthropic.h"
#include "support/fake_openai.h"
#include "support/fixtures.h"

using namespace forgehand;

namespace {

const std::string kInstance = "instances: [{name: gh, type: github, webhook_secret: env:A}]\n";

std::string errors_of(const std::string& yaml) {
  auto config = parse_server_config(kInstance + yaml, "p.yaml", "/x");
  REQUIRE_FALSE(config.has_value());
  return config.error().message;
}

bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("providers: defaults per kind, prices, boundary, routes in order") {
  auto config = parse_server_config(kInstance + R"(providers:
  - name: openai
    kind: openai
    model: gpt-4o
    credential: env:OPENAI_API_KEY
    price: {input_per_million: 2.5, output_per_million: 10}
  - name: azure
    kind: azure-openai
    base_url: https://contoso.openai.azure.com
    model: gpt-4o-prod
    credential: env:AZURE_KEY
    data_boundary: approved
  - name: ollama
    kind: openai-compatible
    base_url: http://127.0.0.1:11434/v1
    model: qwen2.5-coder:7b
    data_boundary: local
    headers: {X-Title: forgehand}
routes:
  default: [openai, azure]
  local-only: [ollama]
)",
                                    "p.yaml", "/x");
  REQUIRE_MESSAGE(config.has_value(), config.error().message);
  REQUIRE(config->providers.size() == 3);
  CHECK(config->providers[0].base_url == "https://api.openai.com/v1");
  CHECK(config->providers[0].output_price_per_million == 10);
  CHECK(config->providers[1].api_version == "2024-10-21");
  CHECK(config->providers[1].data_boundary == "approved");
  CHECK_FALSE(config->providers[2].credential.configured());
  CHECK(config->providers[2].headers ==
        std::vector<std::pair<std::string, std::string>>{{"X-Title", "forgehand"}});
  REQUIRE(config->routes.size() == 2);
  CHECK(config->routes[0].providers == std::vector<std::string>{"openai", "azure"});
}

TEST_CASE("provider mistakes are reported with their path and line") {
  std::string errors = errors_of(R"(providers:
  - name: a
    kind: antropic
    model: m
    credential: env:K
  - name: b
    kind: openai-compatible
    model: m
  - name: c
    kind: openai
    model: m
    credential: sk-inline-key
    data_boundary: cloud
    price: {input_per_million: -1}
routes:
  default: [a, missing]
  empty: []
)");
  CHECK(contains(errors,
                 "p.yaml:4:11: providers[0].kind: must be one of openai, "
                 "openai-compatible, azure-openai, anthropic, gemini (did you mean "
                 "anthropic?)"));
  CHECK(contains(errors, "providers[1].base_url: is required for openai-compatible providers"));
  CHECK_FALSE(contains(errors, "required for antropic"));  // no errors that follow from another
  CHECK(contains(errors, "providers[2].credential: must be a reference"));
  CHECK_FALSE(contains(errors, "sk-inline-key"));
  CHECK(contains(errors, "providers[2].data_boundary: must be local, approved or external"));
  CHECK(contains(errors, "providers[2].price.input_per_million: must be a number, 0 or more"));
  CHECK(contains(errors, "p.yaml:17:16: routes.default[1]: no provider named \"missing\""));
  CHECK(contains(errors, "routes.empty: must be a non-empty list of provider names"));
  CHECK(contains(errors_of("providers: [{name: x, kind: anthropic, model: m}]\n"),
                 "providers[0].credential: is required for anthropic providers"));
}

TEST_CASE("a ProviderSet routes real requests, keeping keys inside") {
  testing::FakeOpenAi openai;
  testing::FakeAnthropic anthropic;
  setenv("FORGEHAND_TEST_OPENAI_KEY", testing::FakeOpenAi::kKey, 1);
  setenv("FORGEHAND_TEST_ANTHROPIC_KEY", testing::FakeAnthropic::kKey, 1);
  auto config = parse_server_config(
      kInstance +
          "providers:\n"
          "  - {name: openai, kind: openai-compatible, base_url: '" +
          openai.url() +
          "/v1', model: gpt-4o, credential: env:FORGEHAND_TEST_OPENAI_KEY}\n"
          "  - {name: claude, kind: anthropic, base_url: '" +
          anthropic.url() +
          "', model: claude-sonnet-4-5, credential: env:FORGEHAND_TEST_ANTHROPIC_KEY}\n"
          "routes:\n  default: [openai, claude]\n",
      "p.yaml", "/x");
  REQUIRE_MESSAGE(config.has_value(), config.error().message);
  auto set = providers::ProviderSet::create(*config, system_clock(), real_sleeper());
  REQUIRE_MESSAGE(set.has_value(), set.error().message);
  const providers::Router* route = (*set)->route("default");
  REQUIRE(route != nullptr);
  CHECK((*set)->route("missing") == nullptr);

  openai.inject({503, R"({"error":{"message":"overloaded"}})", {}});
  openai.inject({503, R"({"error":{"message":"overloaded"}})", {}});
  providers::SessionLedger ledger;
  auto outcome = route->complete({{{Role::user, "hi"}}, {}, 0}, ledger);
  REQUIRE_MESSAGE(outcome.result.has_value(), outcome.result.error().message);
  CHECK(outcome.calls.size() == 2);
  CHECK(outcome.calls[1].provider == "claude");
  CHECK(openai.requests().size() == 2);  // one retry of the same provider, then failover
}

TEST_CASE("a credential that does not resolve names where it was configured") {
  unsetenv("FORGEHAND_TEST_UNSET_KEY");
  auto config = parse_server_config(kInstance +
                                        "providers: [{name: o, kind: openai, model: m, credential: "
                                        "env:FORGEHAND_TEST_UNSET_KEY}]\n",
                                    "p.yaml", "/x");
  REQUIRE(config.has_value());
  auto set = providers::ProviderSet::create(*config, system_clock(), real_sleeper());
  REQUIRE_FALSE(set.has_value());
  CHECK(set.error().message ==
        "p.yaml:2:59: providers[0].credential: environment variable FORGEHAND_TEST_UNSET_KEY is "
        "not set");
}
