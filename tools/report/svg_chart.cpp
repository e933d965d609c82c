// SVG bar and line charts.
#include "tools/report/svg_chart.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace capflow::report {

namespace {

const char* const kColours[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

// "Nice" tick step for a range: 1, 2 or 5 × 10^k, about `count` ticks.
double tick_step(double range, int count) {
  if (!(range > 0)) return 1;
  const double raw = range / count;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double r = raw / mag;
  return (r < 1.5 ? 1 : r < 3 ? 2 : r < 7 ? 5 : 10) * mag;
}

std::string tick_label(double v, double step) {
  const int decimals = step >= 1 ? 0 : static_cast<int>(std::ceil(-std::log10(step)));
  return format_number(v, decimals);
}

// Dashed horizontal lines at `guides` that fall inside [y0, y1], their value at the right end.
template <typename Py>
void write_guides(std::ostringstream& s, const std::vector<double>& guides, double y0, double y1,
                  int left, int plot_w, const Py& py) {
  for (double g : guides) {
    if (!(g >= y0 && g <= y1)) continue;
    s << "<line x1=\"" << left << "\" x2=\"" << left + plot_w << "\" y1=\"" << num(py(g))
      << "\" y2=\"" << num(py(g)) << "\" stroke=\"#999\" stroke-dasharray=\"3 3\"/>\n";
    s << "<text x=\"" << left + plot_w - 4 << "\" y=\"" << num(py(g) - 3)
      << "\" text-anchor=\"end\" fill=\"#777\" font-size=\"10\">" << escape_xml(format_number(g, 0))
      << "</text>\n";
  }
}

}  // namespace

std::string escape_xml(const std::string& text) {
  std::string out;
  for (char ch : text) {
    switch (ch) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += ch;
    }
  }
  return out;
}

std::string format_number(double value, int decimals) {
  if (!std::isfinite(value)) return "–";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", std::max(0, decimals), value);
  std::string s = buf;
  // thousands separators in the integer part
  const auto dot = s.find('.');
  std::string integer = s.substr(0, dot), rest = dot == std::string::npos ? "" : s.substr(dot);
  const bool negative = !integer.empty() && integer[0] == '-';
  if (negative) integer.erase(0, 1);
  std::string grouped;
  for (std::size_t i = 0; i < integer.size(); ++i) {
    if (i > 0 && (integer.size() - i) % 3 == 0) grouped += ',';
    grouped += integer[i];
  }
  return (negative ? "-" : "") + grouped + rest;
}

std::string bar_chart_svg(const std::string& title, const std::vector<Bar>& bars,
                          const std::string& unit, int decimals) {
  const int label_w = 220, bar_w = 380, value_w = 200, row_h = 26, top = 34;
  const int width = label_w + bar_w + value_w;
  const int height = top + row_h * static_cast<int>(std::max<std::size_t>(bars.size(), 1)) + 10;
  double max_v = 0;
  for (const Bar& b : bars) max_v = std::max(max_v, b.value);
  std::ostringstream s;
  s << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
    << "\" viewBox=\"0 0 " << width << ' ' << height
    << "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  s << "<text x=\"4\" y=\"18\" font-size=\"14\" font-weight=\"bold\">" << escape_xml(title)
    << "</text>\n";
  if (bars.empty()) s << "<text x=\"4\" y=\"" << top + 14 << "\">no data</text>\n";
  for (std::size_t i = 0; i < bars.size(); ++i) {
    const Bar& b = bars[i];
    const int y = top + row_h * static_cast<int>(i);
    const double w =
        max_v > 0 && std::isfinite(b.value) ? bar_w * std::max(0.0, b.value) / max_v : 0;
    s << "<text x=\"" << label_w - 6 << "\" y=\"" << y + 16 << "\" text-anchor=\"end\">"
      << escape_xml(b.label) << "</text>\n";
    s << "<rect x=\"" << label_w << "\" y=\"" << y + 4 << "\" width=\"" << num(w) << "\" height=\""
      << row_h - 8 << "\" fill=\"" << kColours[i % 10] << "\"><title>" << escape_xml(b.label)
      << ": " << escape_xml(format_number(b.value, decimals)) << ' ' << escape_xml(unit)
      << "</title></rect>\n";
    s << "<text x=\"" << num(label_w + w + 6) << "\" y=\"" << y + 16 << "\">"
      << escape_xml(format_number(b.value, decimals) + " " + unit +
                    (b.note.empty() ? "" : " (" + b.note + ")"))
      << "</text>\n";
  }
  s << "</svg>\n";
  return s.str();
}

std::string line_chart_svg(const std::string& title, const std::vector<Series>& series,
                           const std::string& x_label, const std::string& y_label, bool y_from_zero,
                           const std::vector<double>& y_guides) {
  const int width = 720, height = 320, left = 70, right = 170, top = 34, bottom = 46;
  const int plot_w = width - left - right, plot_h = height - top - bottom;
  double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
  for (const Series& se : series)
    for (const auto& [x, y] : se.points) {
      if (!std::isfinite(x) || !std::isfinite(y)) continue;
      x0 = std::min(x0, x), x1 = std::max(x1, x), y0 = std::min(y0, y), y1 = std::max(y1, y);
    }
  std::ostringstream s;
  s << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
    << "\" viewBox=\"0 0 " << width << ' ' << height
    << "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  s << "<text x=\"4\" y=\"18\" font-size=\"14\" font-weight=\"bold\">" << escape_xml(title)
    << "</text>\n";
  if (!(x1 >= x0)) {
    s << "<text x=\"" << left << "\" y=\"" << top + 20 << "\">no data</text>\n</svg>\n";
    return s.str();
  }
  if (y_from_zero) y0 = std::min(0.0, y0);
  if (x1 == x0) x0 -= 1, x1 += 1;
  if (y1 == y0) y1 += std::max(1.0, std::fabs(y1) * 0.1);
  const double xs = tick_step(x1 - x0, 6), ys = tick_step(y1 - y0, 5);
  x0 = std::floor(x0 / xs) * xs, x1 = std::ceil(x1 / xs) * xs;
  y0 = std::floor(y0 / ys) * ys, y1 = std::ceil(y1 / ys) * ys;
  const auto px = [&](double x) { return left + plot_w * (x - x0) / (x1 - x0); };
  const auto py = [&](double y) { return top + plot_h * (1 - (y - y0) / (y1 - y0)); };
  // grid and ticks
  for (double y = y0; y <= y1 + ys * 1e-9; y += ys) {
    s << "<line x1=\"" << left << "\" x2=\"" << left + plot_w << "\" y1=\"" << num(py(y))
      << "\" y2=\"" << num(py(y)) << "\" stroke=\"#ddd\"/>\n";
    s << "<text x=\"" << left - 6 << "\" y=\"" << num(py(y) + 4) << "\" text-anchor=\"end\">"
      << escape_xml(tick_label(y, ys)) << "</text>\n";
  }
  for (double x = x0; x <= x1 + xs * 1e-9; x += xs) {
    s << "<line x1=\"" << num(px(x)) << "\" x2=\"" << num(px(x)) << "\" y1=\"" << top + plot_h
      << "\" y2=\"" << top + plot_h + 4 << "\" stroke=\"#333\"/>\n";
    s << "<text x=\"" << num(px(x)) << "\" y=\"" << top + plot_h + 18
      << "\" text-anchor=\"middle\">" << escape_xml(tick_label(x, xs)) << "</text>\n";
  }
  s << "<rect x=\"" << left << "\" y=\"" << top << "\" width=\"" << plot_w << "\" height=\""
    << plot_h << "\" fill=\"none\" stroke=\"#333\"/>\n";
  write_guides(s, y_guides, y0, y1, left, plot_w, py);
  s << "<text x=\"" << left + plot_w / 2 << "\" y=\"" << height - 8 << "\" text-anchor=\"middle\">"
    << escape_xml(x_label) << "</text>\n";
  s << "<text x=\"14\" y=\"" << top + plot_h / 2
    << "\" text-anchor=\"middle\" transform=\"rotate(-90 14 " << top + plot_h / 2 << ")\">"
    << escape_xml(y_label) << "</text>\n";
  for (std::size_t i = 0; i < series.size(); ++i) {
    const Series& se = series[i];
    const char* colour = kColours[i % 10];
    std::ostringstream path;
    for (const auto& [x, y] : se.points)
      if (std::isfinite(x) && std::isfinite(y))
        path << (path.tellp() == 0 ? "" : " ") << num(px(x)) << ',' << num(py(y));
    if (!se.markers_only && se.points.size() > 1)
      s << "<polyline fill=\"none\" stroke=\"" << colour << "\" stroke-width=\"1.5\""
        << (se.dashed ? " stroke-dasharray=\"6 4\"" : "") << " points=\"" << path.str() << "\"/>\n";
    if (se.markers_only || se.points.size() <= 12)
      for (const auto& [x, y] : se.points)
        if (std::isfinite(x) && std::isfinite(y))
          s << "<circle cx=\"" << num(px(x)) << "\" cy=\"" << num(py(y)) << "\" r=\"3.5\" fill=\""
            << colour << "\"><title>" << escape_xml(se.name) << ": "
            << escape_xml(format_number(y, 3)) << "</title></circle>\n";
    const int ly = top + 14 + 18 * static_cast<int>(i);
    s << "<rect x=\"" << left + plot_w + 12 << "\" y=\"" << ly - 9
      << "\" width=\"12\" height=\"10\" fill=\"" << colour << "\"/>\n<text x=\""
      << left + plot_w + 30 << "\" y=\"" << ly << "\">" << escape_xml(se.name) << "</text>\n";
  }
  s << "</svg>\n";
  return s.str();
}

}  // namespace capflow::report
