// Small, dependency-free SVG charts for the self-contained HTML report: horizontal bar charts
// and line charts with axes, ticks and a legend. Text is escaped; the output is one <svg>
// element (no scripts, no external fonts or styles).
#pragma once

#include <string>
#include <vector>

namespace capflow::report {

struct Bar {
  std::string label;
  double value = 0;
  std::string note;  // printed after the value ("measured", "model")
};

struct Series {
  std::string name;
  std::vector<std::pair<double, double>> points;  // x, y
  bool markers_only = false;                      // points without a line (sparse measurements)
  bool dashed = false;                            // a model curve
};

// `unit` follows each value ("images/s"); `decimals` for the printed values.
std::string bar_chart_svg(const std::string& title, const std::vector<Bar>& bars,
                          const std::string& unit, int decimals = 1);
// x and y axes from the data (y from 0 unless `y_from_zero` is false); `y_guides`: dashed
// horizontal lines, labelled with their value, at those y values inside the axis range.
std::string line_chart_svg(const std::string& title, const std::vector<Series>& series,
                           const std::string& x_label, const std::string& y_label,
                           bool y_from_zero = true, const std::vector<double>& y_guides = {});

// &, <, >, " escaped for HTML and SVG text.
std::string escape_xml(const std::string& text);
// A value with a readable number of digits: 1234 → "1,234", 0.0123 → "0.0123".
std::string format_number(double value, int decimals);

}  // namespace capflow::report
