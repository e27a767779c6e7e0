-- wrk script for bench/ingest: signed GitHub issue_comment deliveries, each with its own
-- X-GitHub-Delivery id. No request starts after WINDOW seconds (delay() parks the connection), so
-- when wrk stops nothing is in flight and the 2xx count can be compared exactly with the store.
local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } forgehand_timespec;
  int clock_gettime(int clock_id, forgehand_timespec *tp);
]]
local CLOCK_MONOTONIC = 1

local function now()
  local ts = ffi.new("forgehand_timespec")
  ffi.C.clock_gettime(CLOCK_MONOTONIC, ts)
  return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
end

local threads = {}
local next_thread_id = 0

function setup(thread)
  thread:set("thread_id", next_thread_id)
  next_thread_id = next_thread_id + 1
  table.insert(threads, thread)
end

function init(args)
  local file = assert(io.open(os.getenv("BENCH_BODY"), "rb"))
  body = file:read("*a")
  file:close()
  signature = os.getenv("BENCH_SIGNATURE")
  run_id = os.getenv("BENCH_RUN_ID")
  window = tonumber(os.getenv("BENCH_WINDOW"))
  deadline = now() + window
  sequence = 0
  accepted = 0
end

function delay()
  if now() >= deadline then return 3600 * 1000 end
  return 0
end

function request()
  sequence = sequence + 1
  local headers = {
    ["Content-Type"] = "application/json",
    ["User-Agent"] = "GitHub-Hookshot/bench",
    ["X-GitHub-Event"] = "issue_comment",
    ["X-GitHub-Delivery"] = string.format("%s-%d-%d", run_id, thread_id, sequence),
    ["X-Hub-Signature-256"] = signature,
  }
  return wrk.format("POST", nil, headers, body)
end

function response(status, headers, body)
  if status == 202 then accepted = accepted + 1 end
end

function done(summary, latency, requests)
  local total_accepted = 0
  for _, thread in ipairs(threads) do total_accepted = total_accepted + thread:get("accepted") end
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d accepted=%d non2xx=%d socket_errors=%d p50_us=%d p99_us=%d max_us=%d\n",
    summary.requests, total_accepted, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
