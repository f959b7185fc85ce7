-- iklim creates, each with a username no other request of any run uses
-- (RUN, the thread's number and a counter). PASSWORD=yes adds a strong
-- password (an argon2id hash per create); STORM=yes makes every other
-- request a login of an unknown user instead (which verifies against a
-- dummy hash: a password request that needs no credential).
dofile(os.getenv("BENCH_WRK") .. "/report.lua")
local run = os.getenv("RUN")
local with_password = os.getenv("PASSWORD") == "yes"
local storm = os.getenv("STORM") == "yes"
local key = os.getenv("KEY")
local threads = 0
-- Read by report.lua's done() for a storm's answers by kind.
status_threads = {}
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
  table.insert(status_threads, thread)
end
if storm then
  -- What a storm was answered: creates made, logins refused (401, as an
  -- unknown user must be), 503 (no hashing slot within the queue wait).
  created, refused, busy, other = 0, 0, 0, 0
  function response(status, headers, body)
    if status == 200 or status == 201 then
      created = created + 1
    elseif status == 401 then
      refused = refused + 1
    elseif status == 503 then
      busy = busy + 1
    else
      other = other + 1
    end
  end
end
local n = 0
local create_headers = { ["Authorization"] = "Bearer " .. key, ["Content-Type"] = "application/json" }
local login_headers = { ["Content-Type"] = "application/json" }
function request()
  n = n + 1
  local name = string.format("r%s-t%d-n%d@bench.example", run, tid, n)
  if storm and n % 2 == 0 then
    return wrk.format("POST", "/v1/auth/login", login_headers,
      string.format('{"username":"nobody-%s","password":"Not the right one 42!"}', name))
  end
  local password = ""
  if with_password then
    password = '"password":"Bench Mark Horse 2026!",'
  end
  return wrk.format("POST", "/v1/users/create", create_headers, string.format(
    '{"username":"%s",%s"firstName":"Bench","lastName":"Load","locale":"en_US","timezone":"Europe/Zurich","roles":["STANDARD_USER"],"status":["ACTIVE"]}',
    name, password))
end
