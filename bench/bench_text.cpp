// Benchmarks of the InChI text kernels: tokenizer and Levenshtein distance.
#include <benchmark/benchmark.h>

#include <string>

#include "nodes/text/inchi_tokenizer.h"
#include "nodes/text/levenshtein.h"

namespace {

const std::string kInchi =
    "InChI=1S/C29H35N5O4S/"
    "c1-19(2)17-34-26(36)24-22(31-29(34)39-18-25(35)30-15-20-9-11-21(38-4)12-10-20)"
    "13-14-23(32-24)28(37)33-16-7-5-6-8-27(33)3/h9-14,19H,5-8,15-18H2,1-4H3,(H,30,35)/t27-/m0/s1";

void BM_TokenizeInchi(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(capflow::text::tokenize_inchi(kInchi));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TokenizeInchi);

void BM_Levenshtein(benchmark::State& state) {
  std::string other = kInchi;
  for (std::size_t i = 10; i < other.size(); i += 17) other[i] = 'x';
  other.erase(40, 5);
  for (auto _ : state) benchmark::DoNotOptimize(capflow::text::levenshtein(kInchi, other));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Levenshtein);

}  // namespace
