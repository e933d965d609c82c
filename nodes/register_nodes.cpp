// The one place that says which node kinds and sections a binary has.
#include "nodes/register_nodes.h"

#include "graph/registry.h"

namespace capflow::nodes {

void register_data_sections(graph::Registry& registry) {
  using namespace graph;
  SectionSchema data;
  data.name = "data";
  data.doc = "where the images and labels are";
  data.args = {
      arg_string("root", "data/demo",
                 "dataset folder (`capflow data make --out`, or a Kaggle download)"),
      arg_choice("layout", "bms", {"bms", "folder"},
                 "bms: labels file + images under IMAGES/a/b/c/<id>.<ext>; folder: every image "
                 "under root"),
      arg_string("labels", "train_labels.csv", "labels file (image_id,InChI), relative to root"),
      arg_string("images", "train", "folder of the images, relative to root (bms layout)"),
      arg_choice("extension", "auto", {"auto", "png", "jpg"},
                 "image file extension (bms layout); auto: probe the first image"),
      arg_int("make_count", "0",
              "when > 0 and root has no labels file, make a dataset of this many images first "
              "(and val_root, when set and missing, a tenth as many of molecules not in root)",
              0),
      nullable(
          arg_string("val_root", "null",
                     "held-out dataset (bms layout, same labels/images names) for evaluation")),
  };
  registry.add_section(std::move(data));

  SectionSchema train;
  train.name = "train";
  train.doc = "how long to run";
  train.args = {
      arg_int("epochs", "1", "passes over the data", 1),
      arg_int("max_steps", "0", "stop cleanly after this many batches (0: no limit)", 0),
      arg_float("max_seconds", "0", "stop cleanly after this many seconds (0: no limit)", 0),
      nullable(arg_string("resume", "null",
                          "checkpoint (file, checkpoints folder or run folder) to continue from")),
      nullable(
          arg_string("baseline", "null",
                     "a 1-rank run folder (or its summary.json): summary.json's scaling efficiency "
                     "is measured against it")),
  };
  registry.add_section(std::move(train));
}

void register_all(graph::Registry& registry) {
  graph::register_engine_sections(registry);
  register_data_sections(registry);
  register_io_nodes(registry);
  register_image_nodes(registry);
  register_batch_nodes(registry);
  register_model_nodes(registry);
  register_reduce_nodes(registry);
  register_device_nodes(registry);
}

}  // namespace capflow::nodes
