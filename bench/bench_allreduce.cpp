// BM_allreduce/<bytes>: Gloo allreduce across 2 real ranks on loopback. Each benchmark runs
// `capflow launch -n 2 -- capflow bench-allreduce --sizes <bytes>` once (the ranks must be
// separate processes) and reports its time per operation as manual time, with bytes/s.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

namespace {

void BM_allreduce(benchmark::State& state) {
  const auto bytes = static_cast<std::size_t>(state.range(0));
  const std::string json = "/tmp/capflow-bench-allreduce-" + std::to_string(::getpid()) + ".json";
  const std::string bin = CAPFLOW_BINARY;
  const std::string command = bin + " launch -n 2 --no-prefix -- " + bin +
                              " bench-allreduce --sizes " + std::to_string(bytes) +
                              " --seconds 0.5 --json " + json + " > /dev/null 2>&1";
  if (std::system(command.c_str()) != 0) {
    state.SkipWithError(("two ranks could not run: " + command).c_str());
    return;
  }
  double seconds = 0;
  try {
    std::ifstream in(json);
    seconds = nlohmann::json::parse(in).at("results").at(0).at("seconds_per_op").get<double>();
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  std::remove(json.c_str());
  for (auto _ : state) state.SetIterationTime(seconds);
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes));
  state.counters["ranks"] = 2;
}

BENCHMARK(BM_allreduce)
    ->RangeMultiplier(16)
    ->Range(4 << 10, 64 << 20)
    ->UseManualTime()
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

}  // namespace
