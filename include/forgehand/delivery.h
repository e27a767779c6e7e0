#pragma once
// A webhook exactly as a forge sent it, before any parsing: what the intake records durably and
// what workers later hand to the instance's adapter. A plain value.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "forgehand/clock.h"

namespace forgehand {

// Header names are lower-cased; only headers that later steps need are kept (never a signature
// or token header).
using HeaderMap = std::map<std::string, std::string, std::less<>>;

struct Delivery {
  std::int64_t id = 0;      // the store's key; 0 until recorded
  std::string instance;     // configured forge instance name, e.g. "github" or "gitlab-corp"
  std::string delivery_id;  // the forge's id, unique per instance; redeliveries keep it
  std::string event;        // the forge's event name, e.g. "issue_comment", "Note Hook"
  HeaderMap headers;
  std::string body;  // raw bytes exactly as received
  TimePoint received_at;
  int attempts = 0;  // how many times a worker has claimed it, this claim included

  std::string_view header(std::string_view lower_case_name) const {
    auto it = headers.find(lower_case_name);
    return it == headers.end() ? std::string_view{} : std::string_view{it->second};
  }
};

}  // namespace forgehand
