// How long one allreduce of a message takes across the ranks of a Communicator: the same
// code runs on every rank; rank 0 decides, through the collectives themselves, when enough
// time was measured, so every rank performs the same operations.
#pragma once

#include <cstddef>

namespace capflow::reduce {

class Communicator;

struct AllreduceTiming {
  std::size_t bytes = 0;
  long iterations = 0;
  double seconds_per_op = 0;
  // bytes / time, and the "bus" rate bytes × 2(n-1)/n / time: what each link carries in a
  // ring allreduce, comparable with a link's rate.
  double algorithm_bytes_per_second = 0;
  double bus_bytes_per_second = 0;
};

AllreduceTiming time_allreduce(Communicator& comm, std::size_t bytes, double min_seconds);

}  // namespace capflow::reduce
