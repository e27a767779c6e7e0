#include "support/fake_gemini.h"

#include <nlohmann/json.hpp>

namespace forgehand::testing {

namespace {

using nlohmann::json;

void error(httplib::Response& res, int status, const char* code, const std::string& message) {
  res.status = status;
  res.set_content(
      json{{"error", {{"code", status}, {"message", message}, {"status", code}}}}.dump(),
      "application/json");
}

std::string problem_with(const json& body) {
  if (!body.is_object() || !body.contains("contents") || !body["contents"].is_array() ||
      body["contents"].empty()) {
    return "* GenerateContentRequest.contents: contents is not specified";
  }
  for (const json& content : body["contents"]) {
    std::string role = content.value("role", "");
    if (role != "user" && role != "model") return "Please use a valid role: user, model.";
    for (const json& part : content["parts"]) {
      if (part.contains("functionResponse") && !part["functionResponse"]["response"].is_object()) {
        return "* functionResponse.response: must be an object";
      }
    }
  }
  return {};
}

}  // namespace

FakeGemini::FakeGemini() {
  server_.Post(
      R"(/v1beta/models/([^/:]+):generateContent)",
      recorded([](const httplib::Request& req, httplib::Response& res) {
        if (req.get_header_value("x-goog-api-key") != kKey) {
          error(res, 400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.");
          return;
        }
        auto body = json::parse(req.body, nullptr, false);
        if (auto problem = problem_with(body); !problem.empty()) {
          error(res, 400, "INVALID_ARGUMENT", problem);
          return;
        }
        const json& last = body["contents"].back()["parts"].back();
        json parts = json::array();
        if (last.contains("functionResponse")) {
          parts.push_back({{"text", "Read it."}});
        } else if (body.contains("tools")) {
          std::string name = body["tools"][0]["functionDeclarations"][0]["name"];
          parts.push_back({{"functionCall", {{"name", name}, {"args", {{"path", "README.md"}}}}}});
        } else {
          parts.push_back({{"text", "Hello!"}});
        }
        res.set_content(
            json{{"candidates", json::array({{{"content", {{"role", "model"}, {"parts", parts}}},
                                              {"finishReason", "STOP"},
                                              {"index", 0}}})},
                 {"usageMetadata",
                  {{"promptTokenCount", 25}, {"candidatesTokenCount", 9}, {"totalTokenCount", 34}}},
                 {"modelVersion", req.matches[1].str() + "-001"}}
                .dump(),
            "application/json");
      }));
  start();
}

}  // namespace forgehand::testing
