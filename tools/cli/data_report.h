// Text reports of the data commands, shared by `data make`, `data check` and `demo`.
#pragma once

#include <ostream>

#include "tools/data/dataset_check.h"
#include "tools/data/dataset_maker.h"

namespace capflow::cli {

void print_make_report(std::ostream& out, const data::DatasetOptions& opt,
                       const data::DatasetReport& r);
void print_check_report(std::ostream& out, const data::CheckReport& r);

}  // namespace capflow::cli
