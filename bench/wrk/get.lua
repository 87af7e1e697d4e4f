-- GET with a bearer token: BENCH_TOKEN in the environment.
local token = os.getenv("BENCH_TOKEN")
request = function()
  return wrk.format("GET", nil, token and {["Authorization"] = "Bearer " .. token} or {})
end
