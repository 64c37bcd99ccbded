-- wrk script: at the end of a run, writes one JSON summary (the schema of the bench table)
-- to $WRK_SUMMARY, labelled with $WRK_LABEL and $WRK_DB.
local path = os.getenv("WRK_SUMMARY")
local label = os.getenv("WRK_LABEL") or "wrk"
local db = os.getenv("WRK_DB") or "-"

done = function(summary, latency, requests)
  local secs = summary.duration / 1e6
  local e = summary.errors
  local failures = {}
  local function add(name, n)
    if n > 0 then table.insert(failures, string.format('"%s":%d', name, n)) end
  end
  add("status>=400", e.status)
  add("connect", e.connect)
  add("read", e.read)
  add("write", e.write)
  add("timeout", e.timeout)
  local json = string.format(
    '{"scenario":"%s","db":"%s","tool":"wrk","requests":%d,"duration_s":%.3f,"rps":%.1f,' ..
    '"mb_per_s":%.2f,"p50_ms":%.3f,"p95_ms":%.3f,"p99_ms":%.3f,"failures":{%s}}\n',
    label, db, summary.requests, secs, summary.requests / secs, summary.bytes / 1e6 / secs,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    table.concat(failures, ","))
  if path then
    local f = assert(io.open(path, "w"))
    f:write(json)
    f:close()
  end
  io.write(json)
end
