-- One fixed request, from the environment: METHOD (GET), TARGET (path and
-- query), BODY (JSON, optional), and one credential header AUTH_NAME:
-- AUTH_VALUE (optional). Used for /healthz and every list query.
dofile(os.getenv("BENCH_WRK") .. "/report.lua")
wrk.method = os.getenv("METHOD") or "GET"
wrk.path = os.getenv("TARGET")
local body = os.getenv("BODY")
if body and body ~= "" then
  wrk.body = body
  wrk.headers["Content-Type"] = "application/json"
end
local auth = os.getenv("AUTH_NAME")
if auth and auth ~= "" then
  wrk.headers[auth] = os.getenv("AUTH_VALUE")
end
