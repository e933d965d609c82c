#include "tools/cli/data_report.h"

#include <iomanip>

namespace capflow::cli {
namespace {

std::string json_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '"' || c == '\\') {
      o += '\\';
      o += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      o += ' ';
    } else {
      o += c;
    }
  }
  return o;
}

}  // namespace

void print_make_report(std::ostream& out, const data::DatasetOptions& opt,
                       const data::DatasetReport& r) {
  const double rate = r.seconds > 0 ? r.written / r.seconds : 0;
  const int threads = r.threads > 0 ? r.threads : 1;
  out << std::fixed << std::setprecision(1);
  out << "data make: wrote " << r.written << " images (" << r.from_real << " real, "
      << r.from_generated << " generated molecules) to " << opt.out_dir << " in "
      << std::setprecision(2) << r.seconds << " s: " << std::setprecision(1) << rate
      << " images/s, " << rate / threads << " images/s per core (" << threads << " threads)\n";
  out << "data make: " << r.candidates << " molecules tried; skipped " << r.skipped() << " ("
      << r.unparsable << " unparsable, " << r.out_of_range << " outside the size range, "
      << r.generation_failed << " generation failures, " << r.no_inchi << " without InChI, "
      << r.draw_failed << " drawing failures); " << r.duplicates << " duplicate InChIs, "
      << r.excluded << " excluded";
  if (r.fragments > 0) {
    out << "; fragment library: " << r.fragments << " BRICS fragments, built in "
        << std::setprecision(2) << r.fragment_seconds << " s";
  }
  out << "\n";
  for (const auto& e : r.skip_examples) out << "  skipped: " << e << "\n";
}

void print_check_report(std::ostream& out, const data::CheckReport& r) {
  out << "{\"rows\": " << r.rows << ", \"decoded\": " << r.decoded << ", \"missing\": " << r.missing
      << ", \"corrupt\": " << r.corrupt << ", \"valid_inchi\": " << r.valid_inchi
      << ", \"canonical_inchi\": " << r.canonical_inchi
      << ", \"tokenizer_round_trip\": " << r.round_trip
      << ", \"vocabulary_size\": " << r.vocabulary_size << ", \"seconds\": " << std::setprecision(3)
      << r.seconds << ", \"ok\": " << (r.ok() ? "true" : "false") << ", \"problems\": [";
  for (std::size_t i = 0; i < r.problems.size(); ++i) {
    out << (i ? ", " : "") << "\"" << json_escape(r.problems[i]) << "\"";
  }
  out << "]}\n";
}

}  // namespace capflow::cli
