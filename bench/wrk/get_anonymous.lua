-- GET with no credentials (a public, cached read).
request = function()
  return wrk.format("GET", nil, {})
end
