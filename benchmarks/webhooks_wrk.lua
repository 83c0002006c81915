-- wrk script for benchmarks/webhooks.py: replay pre-signed Shopify deliveries, each exactly once.
-- Usage: wrk -t1 -cN -dS -s webhooks_wrk.lua URL -- REQUESTS_FILE THREADS [wrap]
-- REQUESTS_FILE holds raw HTTP/1.1 requests separated by "\0\n" (HMAC cannot be computed in wrk's Lua).
-- Each thread takes every k-th request; past the end it sends nothing new (wrk then reports fewer requests),
-- or, with "wrap", starts over (for a server that records nothing, such as benchmarks/webhook_floor.py).

local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  local file = assert(io.open(args[1], "rb"))
  local data = file:read("*a")
  file:close()
  requests = {}
  local start, index = 1, 0
  while true do
    local stop = string.find(data, "\0\n", start, true)
    if not stop then break end
    if index % tonumber(args[2]) == id then
      table.insert(requests, string.sub(data, start, stop - 1))
    end
    index = index + 1
    start = stop + 2
  end
  sent, ok, other, exhausted = 0, 0, 0, 0
  wrap = args[3] == "wrap"
end

function request()
  sent = sent + 1
  if wrap then
    return requests[(sent - 1) % #requests + 1]
  end
  if sent > #requests then
    exhausted = exhausted + 1
    return wrk.format("GET", "/healthz")
  end
  return requests[sent]
end

function response(status, headers, body)
  if status == 200 then ok = ok + 1 else other = other + 1 end
end

function done(summary, latency, requests)
  for _, thread in ipairs(threads) do
    io.write(string.format("WORN thread=%d sent=%d ok=%d other=%d exhausted=%d\n",
      thread:get("id"), thread:get("sent"), thread:get("ok"), thread:get("other"), thread:get("exhausted")))
  end
  io.write(string.format("WORN p50_us=%d p99_us=%d requests=%d errors=%d\n", latency:percentile(50),
    latency:percentile(99), summary.requests,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout +
    summary.errors.status))
end
