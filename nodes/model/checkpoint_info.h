// Training checkpoints as seen from outside the model code (torch-free header): what a
// checkpoint says about itself, where the newest one is, how files are named.
//
// A checkpoint is one file, RUN_DIR/checkpoints/step-<steps, 8 digits>.pt, a LibTorch archive
// holding the encoder ("encoder.<torchvision name>"), the decoder ("decoder.<name>"), the
// optimizer state ("optimizer"), and the fields below ("capflow.<field>"), among them the
// format tag "capflow-checkpoint-1". It is written to a temporary file, fsync'ed and renamed,
// so a crash leaves the previous checkpoints intact; the last `keep` are kept.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace capflow::model {

inline constexpr const char* kCheckpointFormat = "capflow-checkpoint-1";

struct CheckpointInfo {
  std::string path;
  std::uint64_t step = 0;         // optimizer steps done
  std::uint64_t epoch = 0;        // data position: the next batch to train on is batch
  std::uint64_t groups_done = 0;  //   `groups_done` of epoch `epoch`
  std::uint64_t images = 0;       // images trained on so far
  double loss = 0;                // loss of the last step
  double seconds = 0;             // training time so far
  std::int64_t world_size = 1;
  std::int64_t replicas = 1;  // model replicas per rank (resources.replicas; absent: 1)
  std::string precision;      // bf16 | fp32
  std::int64_t encoder_depth = 18;
  std::int64_t encoder_stages = 4, encoder_width = 64;  // absent from older checkpoints: these
  std::int64_t formula_head = 0;           // hidden size of the decoder's formula head (0: none)
  std::int64_t atom_head = 0;              // classes of the decoder's atom head (0: none)
  std::string decoder = "attention_lstm";  // or transformer_decoder (absent: attention_lstm)
  std::int64_t embed = 256, hidden = 512, attention = 256;
  std::int64_t layers = 0, heads = 0, ffn = 0;  // the transformer decoder's (absent: 0)
  double dropout = 0.5;
  std::int64_t image_width = 224, image_height = 224;  // what the model was trained on
  std::vector<std::string> vocabulary;                 // tokens in id order
  std::string notation = "inchi";  // what the tokens spell: inchi | smiles (absent: inchi)
  std::string config_yaml;         // the resolved configuration of the training run
};

// The batches of epoch `info.epoch` each of `world_size` ranks skips on resume. Every step
// took one batch per rank, so `groups_done × info.world_size` batches of the epoch are done;
// with another world size they are re-sharded, and up to world_size - 1 of them are trained
// on again when the count does not divide (none is skipped untrained).
inline std::uint64_t resume_groups(const CheckpointInfo& info, int world_size) {
  const std::uint64_t done =
      info.groups_done * static_cast<std::uint64_t>(info.world_size > 0 ? info.world_size : 1);
  return done / static_cast<std::uint64_t>(world_size > 0 ? world_size : 1);
}

// Reads the fields (not the weights). ConfigError naming the file when it is missing,
// truncated or not a capflow checkpoint.
CheckpointInfo read_checkpoint_info(const std::string& path);

std::string checkpoint_file_name(std::uint64_t step);  // "step-00000123.pt"
// The checkpoint files of a folder, oldest (fewest steps) first.
std::vector<std::string> list_checkpoints(const std::string& dir);
// A checkpoint file as given, or the newest one in a checkpoints folder or a run folder;
// ConfigError when there is none.
std::string resolve_checkpoint(const std::string& path);

}  // namespace capflow::model
