#pragma once
// An in-process Gemini API on loopback (ai.google.dev/api/generate-content): POST
// /v1beta/models/{model}:generateContent with x-goog-api-key. It validates what forgehand sends
// (roles user/model, functionResponse.response an object, declarations named) with Google's error
// object, and answers with a functionCall part when tools are offered, text after a
// functionResponse. Thread-safe.

#include "support/fake_server.h"

namespace forgehand::testing {

class FakeGemini final : public FakeServer {
 public:
  static constexpr const char* kKey = "AIza-test";
  FakeGemini();
};

}  // namespace forgehand::testing
