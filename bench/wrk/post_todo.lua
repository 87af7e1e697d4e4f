local token = os.getenv("BENCH_TOKEN")
wrk.method = "POST"
wrk.body = '{"title": "benchmark todo", "description": "written by wrk"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. token
