-- GET one of many public resources by id, round robin, with no credentials: BENCH_POST_IDS.
local ids, n = {}, 0
for id in string.gmatch(os.getenv("BENCH_POST_IDS") or "", "[^,]+") do n = n + 1; ids[n] = id end
local i = 0
request = function()
  i = i % n + 1
  return wrk.format("GET", wrk.path .. ids[i], {})
end
