// Pins LibTorch to one intra-op thread for the whole test binary that includes it (tests pin
// their thread counts). Registered once per binary, however many of its files include it.
#pragma once

#include <gtest/gtest.h>

#include "nodes/model/torch_runtime.h"

namespace capflow::testing {

class OneTorchThread : public ::testing::Environment {
 public:
  void SetUp() override { model::set_torch_threads(1); }
};

inline const auto* const kOneTorchThread = ::testing::AddGlobalTestEnvironment(new OneTorchThread);

}  // namespace capflow::testing
