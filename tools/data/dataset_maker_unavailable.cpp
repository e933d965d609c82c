// make_dataset in a build without RDKit (CAPFLOW_CHEMISTRY=OFF, for example the GPU check's):
// a configuration error that says how to get the data instead.
#include "graph/errors.h"
#include "tools/data/dataset_maker.h"

namespace capflow::data {

DatasetReport make_dataset(const DatasetOptions& options) {
  throw ConfigError(
      "cannot make '" + options.out_dir +
      "': this build has no dataset maker (configured with "
      "-DCAPFLOW_CHEMISTRY=OFF, without RDKit and Open Babel); make the dataset with a full "
      "build (capflow data make) and copy it here");
}

}  // namespace capflow::data
