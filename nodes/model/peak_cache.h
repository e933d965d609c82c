// The cache of measured machine peaks (peak_probe.h; `capflow info --peak`): one JSON file of
// entries, one per CPU model and thread count, shared by every run on the machine. It gives
// model FLOP utilisation its denominator and `precision: auto` its choice (precision_choice.h).
// Torch-free header.
#pragma once

#include <string>

#include "nodes/model/peak_probe.h"

namespace capflow::model {

// Where measured peaks are kept: $CAPFLOW_PEAK_FILE, else $XDG_CACHE_HOME/capflow/peak.json,
// else $HOME/.cache/capflow/peak.json.
std::string peak_cache_path();

// Measures the peak at `threads` and stores it in the cache (replacing the entry of this CPU
// model and thread count), noting who measured it (`by`: "capflow info --peak", or a run that
// found no entry). A cache that cannot be written is left alone.
MachinePeak measure_and_cache_peak(int threads, const std::string& cpu_model,
                                   double seconds_per_probe, const std::string& by);

struct PeakLookup {
  MachinePeak peak;
  // "cached (measured by capflow info --peak, DATE)", "cached (measured by a run, 0.2 s
  // probes, DATE)", or "measured by this run"
  std::string source;
};

// The cached peak of this CPU model at `threads`, else measured now (about 2 s) and cached.
PeakLookup peak_for(int threads, const std::string& cpu_model);

// The cached peak of this CPU model at the fewest threads it has an entry for, else measured
// at `threads` and cached. Processes that look up together on a machine without an entry
// measure once, under a lock, and read the same figures.
PeakLookup any_peak_for(const std::string& cpu_model, int threads);

}  // namespace capflow::model
