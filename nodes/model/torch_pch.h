// Precompiled header for every translation unit that uses LibTorch (see nodes/CMakeLists.txt).
// Only .cpp files of capflow_model include torch; no public header does.
#pragma once
#include <torch/torch.h>
