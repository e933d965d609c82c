// capflow explain --checkpoint C --image I --out DIR [--beam K]: where the decoder looks while
// it reads one image (DIR/attention.png, DIR/attention.json, DIR/tokens.txt).
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "graph/errors.h"
#include "nodes/io/image_codec.h"
#include "nodes/model/attention_maps.h"
#include "nodes/model/torch_runtime.h"
#include "tools/cli/commands.h"

namespace capflow::cli {

namespace {

struct ExplainOptions {
  std::string checkpoint, image, out;
  int beam = 1, max_length = 256, threads = 0;
};

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  f.flush();
  if (!f) throw Error("cannot write '" + path + "': " + std::strerror(errno));
}

nlohmann::json trace_json(const model::AttentionTrace& t, const model::SheetLayout& l,
                          const std::string& checkpoint) {
  return {{"inchi", t.inchi},
          {"tokens", t.tokens},
          {"grid", {{"height", t.grid_height}, {"width", t.grid_width}}},
          {"alpha", t.alpha},
          {"image", {{"width", t.image.width}, {"height", t.image.height}}},
          {"sheet",
           {{"width", l.width},
            {"height", l.height},
            {"frame_width", l.frame_width},
            {"frame_height", l.frame_height},
            {"columns", l.columns},
            {"rows", l.rows}}},
          {"checkpoint", checkpoint}};
}

void explain(const ExplainOptions& o) {
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  model::set_torch_threads(o.threads > 0 ? o.threads : static_cast<int>(cores));
  const model::AttentionTrace trace =
      model::trace_attention(o.checkpoint, o.image, o.beam, o.max_length);
  std::error_code ec;
  std::filesystem::create_directories(o.out, ec);
  if (ec) throw ConfigError("cannot create '" + o.out + "': " + ec.message());
  const model::RgbImage sheet = model::compose_attention_sheet(trace);
  const auto png = io::encode_png_rgb(sheet.pixels.data(), sheet.width, sheet.height);
  write_file(o.out + "/attention.png", std::string(png.begin(), png.end()));
  const auto layout =
      model::attention_sheet_layout(trace.image.width, trace.image.height, trace.alpha.size());
  write_file(o.out + "/attention.json", trace_json(trace, layout, o.checkpoint).dump() + "\n");
  std::string tokens;
  for (std::size_t i = 0; i < trace.tokens.size(); ++i)
    tokens += std::to_string(i + 1) + "\t" + trace.tokens[i] + "\n";
  write_file(o.out + "/tokens.txt", tokens);
  std::cout << trace.inchi << std::endl;
  std::cerr << "explain: " << trace.tokens.size() << " steps over a " << trace.grid_height << "x"
            << trace.grid_width << " grid -> " << o.out << "/attention.png (" << sheet.width << "x"
            << sheet.height << "), attention.json, tokens.txt" << std::endl;
}

}  // namespace

void add_explain_command(CLI::App& app) {
  auto o = std::make_shared<ExplainOptions>();
  auto* cmd = app.add_subcommand(
      "explain", "Decode one image and draw where the decoder looked for every token");
  cmd->add_option("--checkpoint", o->checkpoint,
                  "Checkpoint file, checkpoints folder or run folder")
      ->required();
  cmd->add_option("--image", o->image, "PNG or JPEG picture of a structure")->required();
  cmd->add_option("--out", o->out, "Folder for attention.png, attention.json and tokens.txt")
      ->required();
  cmd->add_option("--beam", o->beam, "Beam width (1: greedy)")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  cmd->add_option("--max-length", o->max_length, "Decoding steps at most")
      ->capture_default_str()
      ->check(CLI::Range(1, 4096));
  cmd->add_option("--threads", o->threads, "Threads (0: all cores)")->capture_default_str();
  cmd->callback([o] { explain(*o); });
}

}  // namespace capflow::cli
