-- POST a login, round robin over BENCH_LOGIN_ACCOUNTS accounts (login-<i>@example.com,
-- password BENCH_PASSWORD): many people logging in at once, as in production. One account
-- at a time has at most the lockout threshold of checks in flight; more wait a second.
local password = os.getenv("BENCH_PASSWORD")
local n = tonumber(os.getenv("BENCH_LOGIN_ACCOUNTS"))
local i = 0
request = function()
  i = i % n + 1
  local body = '{"email": "login-' .. i .. '@example.com", "password": "' .. password .. '"}'
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
end
