-- Nevis GET by id of a random seeded user (users.py's ids 0 .. USERS-1).
dofile(os.getenv("BENCH_WRK") .. "/report.lua")
local key = os.getenv("KEY")
local users = tonumber(os.getenv("USERS"))
local headers = { ["Authorization"] = "Bearer " .. key }
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
function init(args)
  -- A different sequence per thread.
  math.randomseed(os.time() * 100 + tid)
end
function request()
  local id = string.format("00000000-0000-4000-8000-%012x", math.random(0, users - 1))
  return wrk.format("GET", "/nevis/api/v1/users/" .. id, headers)
end
