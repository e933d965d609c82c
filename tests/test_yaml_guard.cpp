// Hostile YAML against the pipeline loader: the text checks before yaml-cpp (size, UTF-8,
// control characters, tab indentation) and the limits while the parsed document is walked
// (recursive aliases, alias bombs, deep nesting), for files and --set overrides alike. Each
// ends in one located ConfigError.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "graph/errors.h"
#include "graph/pipeline_spec.h"
#include "graph/yaml_guard.h"
#include "tests/test_catalog.h"

namespace capflow::graph {
namespace {

const testing::MapCatalog& catalog() {
  static const testing::MapCatalog c = [] {
    testing::MapCatalog m;
    testing::add_example_schemas(m);
    return m;
  }();
  return c;
}

// The message of the ConfigError parsing throws ("" when it does not throw).
std::string error_of(const std::string& text, const std::vector<std::string>& overrides = {}) {
  try {
    parse_pipeline(text, "p.yaml", overrides, catalog());
  } catch (const ConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no ConfigError";
  return "";
}

std::string repeat(const std::string& s, std::size_t n) {
  std::string out;
  out.reserve(s.size() * n);
  for (std::size_t i = 0; i < n; ++i) out += s;
  return out;
}

// Ten levels of ten aliases each: 10^10 values once expanded.
std::string alias_bomb() {
  std::string text = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 10; ++i) {
    const std::string prev = "*a" + std::to_string(i - 1);
    text += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [" + repeat(prev + ", ", 9) +
            prev + "]\n";
  }
  return text;
}

TEST(YamlText, AcceptsUtf8CommentsAndTabsAfterContent) {
  EXPECT_FALSE(check_yaml_text("a: 1\t# tab before a comment\n\t# tab-indented comment\n"));
  EXPECT_FALSE(check_yaml_text("name: \"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80\"\r\n"));
  EXPECT_FALSE(check_yaml_text("\t\n"));
}

TEST(YamlText, LocatesTheFirstProblem) {
  const auto problem = [](const std::string& text) {
    const auto p = check_yaml_text(text);
    return p ? std::to_string(p->line) + ":" + std::to_string(p->column) + ": " + p->message : "";
  };
  EXPECT_EQ(problem("a: 1\nb:\n\tc: 2\n"),
            "3:1: a tab in the indentation: YAML indents with spaces only");
  EXPECT_EQ(problem("a:\n  \tb: 2\n"),
            "2:3: a tab in the indentation: YAML indents with spaces only");
  EXPECT_EQ(problem("a: \xC3\xA9\xE9\n"),
            "1:5: invalid UTF-8 (byte 0xE9): write the file as UTF-8");
  EXPECT_EQ(problem("a: \xC0\xAF\n"), "1:4: invalid UTF-8 (byte 0xC0): write the file as UTF-8");
  EXPECT_EQ(problem("a: \xED\xA0\x80\n"),
            "1:4: invalid UTF-8 (byte 0xED): write the file as UTF-8");
  EXPECT_EQ(problem("a: \xE2\x82\n"), "1:4: invalid UTF-8 (byte 0xE2): write the file as UTF-8");
  EXPECT_EQ(problem(std::string("a: 1\0\n", 6)),
            "1:5: control character 0x00 is not allowed in YAML text");
  EXPECT_EQ(problem("a: \x1B[0m\n"), "1:4: control character 0x1B is not allowed in YAML text");
}

TEST(YamlText, SizeLimitIsLocatedWhereItIsCrossed) {
  const std::string big = "a: \"" + std::string(YamlLimits::kMaxBytes, 'x') + "\"\n";
  const auto p = check_yaml_text(big);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->line, 1);
  EXPECT_EQ(p->column, static_cast<int>(YamlLimits::kMaxBytes) + 1);
  EXPECT_EQ(p->message, "more than 256 KiB, the limit for a pipeline file or a --set value");
}

TEST(HostileYaml, RecursiveAlias) {
  EXPECT_EQ(error_of("seed: &a [*a]\n"), "p.yaml:1:7: recursive alias: this value contains itself");
  EXPECT_EQ(error_of("nodes: &n {read: {kind: files, x: *n}}\n"),
            "p.yaml:1:8: recursive alias: this value contains itself");
}

TEST(HostileYaml, AliasBombStopsAtTheValueLimit) {
  const auto start = std::chrono::steady_clock::now();
  const std::string message = error_of(alias_bomb());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  EXPECT_EQ(message.rfind("p.yaml:", 0), 0u) << message;
  EXPECT_NE(message.find(": more than 100000 values (an alias counts as often as it is used)"),
            std::string::npos)
      << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << "one problem: " << message;
}

TEST(HostileYaml, TextBombStopsAtTheTextLimit) {
  const std::string text =
      "a: &a \"" + std::string(200000, 'y') + "\"\nb: [" + repeat("*a, ", 199) + "*a]\n";
  EXPECT_EQ(
      error_of(text),
      "p.yaml:1:4: more than 16777216 bytes of text (an alias counts as often as it is used)");
}

TEST(HostileYaml, DeepNesting) {
  const std::string deep = "seed: " + repeat("[", 100000) + repeat("]", 100000) + "\n";
  const std::string message = error_of(deep);
  EXPECT_EQ(message.rfind("p.yaml:1:", 0), 0u) << message;
  EXPECT_NE(message.find(": invalid YAML: nested more than "), std::string::npos) << message;
  EXPECT_EQ(error_of("seed: " + repeat("[", 70) + repeat("]", 70) + "\n"),
            "p.yaml:1:70: nested more than 64 levels deep");
  const std::string block = "seed:\n  " + repeat("- ", 100000) + "x\n";
  EXPECT_EQ(error_of(block).rfind("p.yaml:2:", 0), 0u) << error_of(block);
}

TEST(HostileYaml, TooManyKeysInOneMapping) {
  std::string text = "data: {";
  for (int i = 0; i < 1001; ++i) text += "k" + std::to_string(i) + ": 1, ";
  text += "z: 1}\n";
  EXPECT_EQ(error_of(text), "p.yaml:1:7: a mapping with more than 1000 keys");
}

TEST(HostileYaml, LongValuesAreShortenedInMessages) {
  const std::string message = error_of("seed: \"" + std::string(100000, 'z') + "\"\nnodes: {}\n");
  EXPECT_LT(message.size(), 400u) << message.substr(0, 400);
  EXPECT_NE(message.find("... (100000 bytes)"), std::string::npos) << message.substr(0, 400);
}

TEST(HostileYaml, OverridesAreCheckedToo) {
  const std::string good = "nodes: {read: {kind: files}, sink: {kind: sink}}\n";
  // The override's problem comes first (the file's chain has problems of its own).
  const auto first_line = [&](const std::string& set) {
    const std::string message = error_of(good, {set});
    const std::size_t start = message.find("--set ");
    return start == std::string::npos ? message
                                      : message.substr(start, message.find('\n', start) - start);
  };
  EXPECT_EQ(first_line("seed=&a [*a]"),
            "--set seed=&a [*a]: recursive alias: this value contains itself");
  EXPECT_EQ(first_line("seed=\xFF"),
            "--set seed=\xFF: value, column 1: invalid UTF-8 (byte 0xFF): write the file as UTF-8");
  const std::string huge = first_line("data.root=" + std::string(300000, 'r'));
  EXPECT_EQ(huge.rfind("--set data.root=rrrr", 0), 0u) << huge.substr(0, 200);
  EXPECT_NE(huge.find("value, column 262145: more than 256 KiB"), std::string::npos)
      << huge.substr(0, 300);
  EXPECT_LT(huge.size(), 400u);
}

}  // namespace
}  // namespace capflow::graph
