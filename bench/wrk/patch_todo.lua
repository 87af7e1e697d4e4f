-- PATCH one of many todos with If-Match: * (no lost update, no 412): BENCH_TOKEN, BENCH_IDS.
local token = os.getenv("BENCH_TOKEN")
local ids, n = {}, 0
for id in string.gmatch(os.getenv("BENCH_IDS") or "", "[^,]+") do n = n + 1; ids[n] = id end
local i = 0
request = function()
  i = i % n + 1
  return wrk.format("PATCH", wrk.path .. ids[i], {
    ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json", ["If-Match"] = "*",
  }, '{"completed": true}')
end
