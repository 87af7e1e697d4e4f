-- GET one of the reference table's rows by id, round robin over 1..1000.
local i = 0
request = function()
  i = i % 1000 + 1
  return wrk.format("GET", wrk.path .. i)
end
