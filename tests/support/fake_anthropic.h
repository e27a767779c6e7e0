#pragma once
// An in-process Anthropic Messages API on loopback (docs.anthropic.com/en/api/messages). It
// checks x-api-key and anthropic-version, validates what forgehand sends (max_tokens required,
// roles user/assistant only, tool_result blocks naming a tool_use_id) with Anthropic's error
// object, and answers with a tool_use block when tools are offered, text after a tool_result.
// Thread-safe.

#include "support/fake_server.h"

namespace forgehand::testing {

class FakeAnthropic final : public FakeServer {
 public:
  static constexpr const char* kKey = "sk-ant-test";
  FakeAnthropic();
};

}  // namespace forgehand::testing
