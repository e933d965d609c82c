// Allreduce timing across ranks (see allreduce_timing.h).
#include "nodes/reduce/allreduce_timing.h"

#include <chrono>

#include "nodes/reduce/communicator.h"

namespace capflow::reduce {

AllreduceTiming time_allreduce(Communicator& comm, std::size_t bytes, double min_seconds) {
  const auto elements = static_cast<std::int64_t>(std::max<std::size_t>(bytes / sizeof(float), 1));
  std::vector<torch::Tensor> data{torch::ones({elements}, torch::kFloat32)};
  for (int i = 0; i < 2; ++i)
    comm.wait(comm.allreduce_async(data), "the allreduce benchmark (warm-up)");
  AllreduceTiming t;
  t.bytes = static_cast<std::size_t>(elements) * sizeof(float);
  double seconds = 0;
  long round = 1;
  for (;;) {
    const auto t0 = std::chrono::steady_clock::now();
    for (long i = 0; i < round; ++i)
      comm.wait(comm.allreduce_async(data), "the allreduce benchmark");
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    t.iterations += round;
    // Rank 0's clock decides for everyone.
    const bool more = comm.rank() == 0 && seconds < min_seconds;
    if (comm.sum({more ? 1.0 : 0.0}, "the allreduce benchmark (agreeing to go on)")[0] == 0) break;
    round = std::min(round * 2, 1L << 20);
  }
  t.seconds_per_op = seconds / static_cast<double>(t.iterations);
  const double n = comm.world_size();
  t.algorithm_bytes_per_second = static_cast<double>(t.bytes) / t.seconds_per_op;
  t.bus_bytes_per_second = t.algorithm_bytes_per_second * 2 * (n - 1) / n;
  return t;
}

}  // namespace capflow::reduce
