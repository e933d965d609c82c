// Benchmarks of the dataset maker's stages, one molecule per iteration: BRICS recombination,
// 2D layout + molblock + InChI, drawing + post-processing, PNG encoding.
#include <GraphMol/FileParsers/FileParsers.h>
#include <GraphMol/GraphMol.h>
#include <GraphMol/MolDraw2D/MolDraw2D.h>
#include <GraphMol/MolDraw2D/MolDraw2DUtils.h>
#include <GraphMol/SmilesParse/SmilesParse.h>
#include <benchmark/benchmark.h>

#include "nodes/chem/inchi_openbabel.h"
#include "nodes/io/image_codec.h"
#include "tools/data/depiction.h"
#include "tools/data/fragment_library.h"
#include "tools/data/molecule_sources.h"

namespace {

using namespace capflow;

const data::FragmentLibrary& library() {
  static const data::FragmentLibrary lib = [] {
    std::vector<std::string> smiles;
    for (const auto& f : data::default_molecule_files()) {
      for (const auto& r : data::read_molecule_file(f)) smiles.push_back(r.text);
    }
    return data::FragmentLibrary::from_smiles(smiles);
  }();
  return lib;
}

// 64 generated molecules, prepared for drawing.
const std::vector<std::unique_ptr<RDKit::RWMol>>& prepared() {
  static const auto mols = [] {
    std::vector<std::unique_ptr<RDKit::RWMol>> v;
    for (std::uint64_t i = 0; v.size() < 64; ++i) {
      if (auto s = library().generate(1, i)) {
        v.emplace_back(RDKit::SmilesToMol(*s));
        RDKit::MolDraw2DUtils::prepareMolForDrawing(*v.back(), true, true, true, true);
      }
    }
    return v;
  }();
  return mols;
}

void BM_GenerateMolecule(benchmark::State& state) {
  library();
  std::uint64_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(library().generate(2, i++));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_GenerateMolecule)->Unit(benchmark::kMicrosecond);

void BM_LayoutMolblockInchi(benchmark::State& state) {
  std::vector<std::string> smiles;
  for (std::uint64_t i = 0; smiles.size() < 64; ++i) {
    if (auto s = library().generate(3, i)) smiles.push_back(*s);
  }
  std::size_t k = 0;
  for (auto _ : state) {
    std::unique_ptr<RDKit::RWMol> m(RDKit::SmilesToMol(smiles[k++ % smiles.size()]));
    RDKit::MolDraw2DUtils::prepareMolForDrawing(*m, true, true, true, true);
    benchmark::DoNotOptimize(chem::inchi_from_molblock(RDKit::MolToMolBlock(*m)));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_LayoutMolblockInchi)->Unit(benchmark::kMicrosecond);

void BM_DrawAndPostprocess(benchmark::State& state) {
  const auto& mols = prepared();
  std::size_t k = 0;
  for (auto _ : state) {
    SeededRng rng({4, k});
    const auto style = data::random_depiction_style(rng);
    const auto post = data::random_postprocess_style(rng);
    benchmark::DoNotOptimize(
        data::postprocess(data::draw_molecule(*mols[k++ % mols.size()], style), post, rng));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DrawAndPostprocess)->Unit(benchmark::kMicrosecond);

void BM_EncodeDrawnPng(benchmark::State& state) {
  std::vector<io::GrayImage> images;
  for (std::size_t k = 0; k < 16; ++k) {
    SeededRng rng({5, k});
    const auto style = data::random_depiction_style(rng);
    const auto post = data::random_postprocess_style(rng);
    images.push_back(data::postprocess(data::draw_molecule(*prepared()[k], style), post, rng));
  }
  std::size_t k = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        io::encode_png_gray(images[k++ % images.size()], static_cast<int>(state.range(0))));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EncodeDrawnPng)->Arg(1)->Arg(3)->Arg(6)->Unit(benchmark::kMicrosecond);

}  // namespace
