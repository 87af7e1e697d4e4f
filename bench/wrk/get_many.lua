-- GET one of many todos by id, round robin: BENCH_TOKEN, BENCH_IDS (comma-separated).
local token = os.getenv("BENCH_TOKEN")
local ids, n = {}, 0
for id in string.gmatch(os.getenv("BENCH_IDS") or "", "[^,]+") do n = n + 1; ids[n] = id end
local i = 0
request = function()
  i = i % n + 1
  return wrk.format("GET", wrk.path .. ids[i], {["Authorization"] = "Bearer " .. token})
end
