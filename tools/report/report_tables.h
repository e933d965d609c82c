// The report's tables as rows of text, shared by the Markdown and the HTML renderings.
#pragma once

#include <string>
#include <vector>

#include "tools/report/report_content.h"

namespace capflow::report {

struct Table {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
};

Table runs_table(const Report& report);         // one row per run
Table study_table(const Report& report);        // single CPU box / CPU cluster / single GPU
Table node_table(const RunRecord& run);         // per-node utilisation of one run
Table calibration_table(const Calibration& c);  // the model's inputs
Table checks_table(const Report& report);       // predicted vs measured
Table predictions_table(const Report& report);  // cluster shapes

}  // namespace capflow::report
