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
// Per run with held-out evaluations: time to Levenshtein 60/40/20/10 (or "not reached, best X at
// Y min"), the final Levenshtein, exact % and valid %, and the clock the times are on.
Table time_to_quality_table(const Report& report);

}  // namespace capflow::report
