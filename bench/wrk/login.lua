wrk.method = "POST"
wrk.body = '{"email": "' .. os.getenv("BENCH_EMAIL") .. '", "password": "' .. os.getenv("BENCH_PASSWORD") .. '"}'
wrk.headers["Content-Type"] = "application/json"
