// Datasets made when a pipeline (or the demo) needs them and they are not there yet.
#pragma once

#include <string>

#include "graph/pipeline_spec.h"
#include "tools/data/dataset_maker.h"

namespace capflow::cli {

// Makes the dataset `o` describes unless `o.out_dir` already holds one made with the same
// seed, count and format (its dataset.json); says which on standard output. Error when fewer
// images than asked could be made.
void make_or_reuse(const data::DatasetOptions& o, const std::string& what);

// data.make_count > 0: makes data.root (make_count images, the pipeline's seed) when it has
// no labels file, and data.val_root (a tenth as many, at least 50, of molecules not in root,
// seed + 1) when it is set and missing.
// In a job of several ranks only rank 0 makes them; the others (`maker` false) wait for them
// to be complete (dataset.json written last), up to an hour.
void ensure_pipeline_datasets(const graph::PipelineSpec& spec, bool maker = true);

}  // namespace capflow::cli
