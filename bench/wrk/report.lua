-- Shared by every load script: at the end of a run, one JSON line on
-- standard output that bench/run.sh keeps (rates per second, latencies in
-- milliseconds; `failed` counts non-2xx answers and socket errors, and
-- `ok_per_s` is the rate of the others: a 503 is not a request served).
function done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local e = summary.errors
  local failed = e.status + e.connect + e.read + e.write + e.timeout
  -- Answers by kind, when the script counted them (create.lua's storms).
  local kinds = ""
  if status_threads and status_threads[1] and status_threads[1]:get("busy") ~= nil then
    local sum = { created = 0, refused = 0, busy = 0, other = 0 }
    for _, thread in ipairs(status_threads) do
      for kind in pairs(sum) do
        sum[kind] = sum[kind] + thread:get(kind)
      end
    end
    kinds = string.format(',"created":%d,"refused":%d,"busy":%d,"other":%d',
      sum.created, sum.refused, sum.busy, sum.other)
  end
  io.write(string.format(
    '{"requests":%d,"seconds":%.3f,"per_s":%.2f,"ok_per_s":%.2f,"p50_ms":%.3f,"p99_ms":%.3f,"mean_ms":%.3f,"failed":%d%s}\n',
    summary.requests, seconds, summary.requests / seconds, (summary.requests - failed) / seconds,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.mean / 1000, failed, kinds))
end
