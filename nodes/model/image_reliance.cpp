// The image-reliance diagnostic (see image_reliance.h).
#include "nodes/model/image_reliance.h"

#include <oneapi/tbb/parallel_for.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <string>

#include "graph/errors.h"
#include "graph/seeded_random.h"
#include "nodes/model/caption_search.h"
#include "nodes/model/captioning.h"
#include "nodes/model/device_batch.h"
#include "nodes/text/levenshtein.h"

namespace capflow::model {

std::vector<std::size_t> derangement(std::size_t n, std::uint64_t seed) {
  std::vector<std::size_t> p(n);
  for (std::size_t i = 0; i < n; ++i) p[i] = i;
  SeededRng rng{seed, n};
  for (std::size_t i = n; i-- > 1;) {  // Sattolo: j < i, never i itself
    const auto j = static_cast<std::size_t>(rng.uniform_int(0, static_cast<std::int64_t>(i) - 1));
    std::swap(p[i], p[j]);
  }
  return p;
}

std::vector<std::size_t> reliance_batches(std::size_t count, std::size_t batch) {
  batch = std::max<std::size_t>(batch, 2);
  std::vector<std::size_t> sizes(count / batch, batch);
  if (count % batch > 0) sizes.push_back(count % batch);
  if (sizes.size() > 1 && sizes.back() == 1) {
    sizes.pop_back();
    ++sizes.back();
  }
  return sizes;
}

namespace {

// Sums over the measured images (losses over label tokens).
struct Totals {
  double loss_real = 0, loss_shuffled = 0, lev_real = 0, lev_shuffled = 0;
  double tokens = 0;
  std::size_t images = 0, skipped = 0;
};

// The readable images of samples [begin, end), as model input pixels, and their samples.
std::vector<const io::SampleRef*> load_readable(const CaptionModel& model,
                                                const std::vector<io::SampleRef>& samples,
                                                std::size_t begin, std::size_t end,
                                                std::vector<std::uint8_t>& pixels) {
  const std::size_t frame = static_cast<std::size_t>(model.width) * model.height;
  std::vector<io::GrayImage> images(end - begin);
  std::vector<char> ok(end - begin, 0);
  tbb::parallel_for(begin, end, [&](std::size_t i) {
    try {
      images[i - begin] = load_model_image(model, samples[i].path);
      ok[i - begin] = 1;
    } catch (const std::exception&) {
      // counted as skipped by the caller
    }
  });
  std::vector<const io::SampleRef*> readable;
  pixels.clear();
  for (std::size_t i = begin; i < end; ++i) {
    if (!ok[i - begin]) continue;
    readable.push_back(&samples[i]);
    pixels.insert(pixels.end(), images[i - begin].pixels.begin(), images[i - begin].pixels.end());
  }
  pixels.resize(readable.size() * frame);
  return readable;
}

// <sos> label tokens <eos> of every sample, padded with <pad> into int64 [B, T].
torch::Tensor label_tokens(const text::Vocabulary& vocabulary, const batch::CaptionTargets& targets,
                           const std::vector<const io::SampleRef*>& samples) {
  std::vector<std::vector<int>> rows;
  std::size_t longest = 0;
  for (const io::SampleRef* s : samples) {
    try {
      rows.push_back(vocabulary.encode(targets.text_of(*s)));
    } catch (const std::exception& e) {
      throw DataError("image " + s->id + ": label '" + s->label + "': " + e.what());
    }
    longest = std::max(longest, rows.back().size());
  }
  auto out = torch::zeros({static_cast<int64_t>(rows.size()), static_cast<int64_t>(longest)},
                          torch::kLong);
  auto a = out.accessor<int64_t, 2>();
  for (std::size_t r = 0; r < rows.size(); ++r)
    for (std::size_t t = 0; t < rows[r].size(); ++t)
      a[static_cast<int64_t>(r)][static_cast<int64_t>(t)] = rows[r][t];
  return out;
}

// One batch of at least 2 readable images into the totals.
void measure_batch(CaptionModel& model, const batch::CaptionTargets& targets,
                   const std::vector<const io::SampleRef*>& samples,
                   const std::vector<std::uint8_t>& pixels, int max_length, Totals& totals) {
  const auto n = static_cast<int>(samples.size());
  const torch::Device device = module_device(*model.encoder);
  const auto perm_host = derangement(samples.size());
  const auto perm =
      torch::tensor(std::vector<int64_t>(perm_host.begin(), perm_host.end()), torch::kLong)
          .to(device);
  const auto tokens = label_tokens(model.vocabulary, targets, samples).to(device);
  const double target_count = tokens.narrow(1, 1, tokens.size(1) - 1).ne(0).sum().item<double>();
  std::vector<std::vector<int>> predicted;
  {
    AutocastGuard autocast(model.precision, device.type());
    const auto features = model.encoder->forward(
        to_model_input(pixels.data(), n, model.height, model.width, model.channels_last)
            .to(device));
    const auto real = caption_loss(model.decoder->forward(features, tokens), tokens);
    const auto shuffled =
        caption_loss(model.decoder->forward(features.index_select(0, perm), tokens), tokens);
    totals.loss_real += real.item<double>() * target_count;
    totals.loss_shuffled += shuffled.item<double>() * target_count;
    predicted = greedy_decode(*model.decoder, features, max_length, text::Vocabulary::kSos,
                              text::Vocabulary::kEos);
  }
  totals.tokens += target_count;
  std::vector<std::string> texts;
  for (const auto& p : predicted) texts.push_back(model.vocabulary.decode(p));
  const std::vector<std::string> inchis = as_inchis(model, std::move(texts));
  for (std::size_t j = 0; j < samples.size(); ++j) {
    const std::string& label = samples[j]->label;
    totals.lev_real += static_cast<double>(text::levenshtein(inchis[j], label));
    // Caption j was paired with image perm[j]: that image's prediction against this label.
    totals.lev_shuffled += static_cast<double>(text::levenshtein(inchis[perm_host[j]], label));
  }
  totals.images += samples.size();
}

RelianceResult summarise(const Totals& t) {
  RelianceResult r;
  r.images = t.images;
  r.skipped = t.skipped;
  r.loss_real = t.tokens > 0 ? t.loss_real / t.tokens : 0.0;
  r.loss_shuffled = t.tokens > 0 ? t.loss_shuffled / t.tokens : 0.0;
  const double n = static_cast<double>(t.images);
  r.levenshtein_real = t.lev_real / n;
  r.levenshtein_shuffled = t.lev_shuffled / n;
  if (r.levenshtein_real > 0)
    r.ratio = r.levenshtein_shuffled / r.levenshtein_real;
  else
    r.ratio = r.levenshtein_shuffled > 0 ? std::numeric_limits<double>::infinity() : 1.0;
  return r;
}

}  // namespace

RelianceResult measure_image_reliance(CaptionModel& model, const batch::CaptionTargets& targets,
                                      const std::vector<io::SampleRef>& samples, int batch,
                                      int max_length) {
  const bool was_training = model.encoder->is_training() || model.decoder->is_training();
  model.encoder->eval();
  model.decoder->eval();
  torch::NoGradGuard no_grad;
  Totals totals;
  std::vector<std::uint8_t> pixels;
  std::size_t begin = 0;
  for (const std::size_t size : reliance_batches(samples.size(), static_cast<std::size_t>(batch))) {
    const auto readable = load_readable(model, samples, begin, begin + size, pixels);
    totals.skipped += size - readable.size();
    begin += size;
    if (readable.size() < 2) {
      totals.skipped += readable.size();
      continue;
    }
    measure_batch(model, targets, readable, pixels, max_length, totals);
  }
  if (was_training) {
    model.encoder->train();
    model.decoder->train();
  }
  if (totals.images < 2)
    throw ConfigError("image reliance: needs at least 2 readable labelled images, got " +
                      std::to_string(totals.images));
  return summarise(totals);
}

}  // namespace capflow::model
