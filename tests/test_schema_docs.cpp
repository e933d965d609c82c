// Tests of the generated node reference (`capflow nodes` text and the Markdown page): every
// kind, section, argument and default appears, in catalog order, and the output is stable.
#include <gtest/gtest.h>

#include "graph/schema_docs.h"
#include "tests/test_catalog.h"

namespace capflow::graph {
namespace {

// The shared example catalog, with a nullable string whose doc holds a pipe.
class DocsCatalog : public testing::MapCatalog {
 public:
  DocsCatalog() {
    testing::add_example_schemas(*this);
    mutable_node("augment").args.push_back(
        nullable(arg_string("weights", "null", "Weights file | or null.")));
  }
};

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Every kind, section, argument, default and doc line appears in `text`.
void expect_mentions_everything(const DocsCatalog& c, const std::string& text) {
  for (const auto& [kind, s] : c.all_nodes()) {
    EXPECT_TRUE(contains(text, kind)) << kind;
    EXPECT_TRUE(contains(text, s.doc)) << s.doc;
    EXPECT_TRUE(contains(text, node_role_name(s.role))) << kind;
    for (const ArgSpec& a : s.args) {
      EXPECT_TRUE(contains(text, a.name)) << kind << "." << a.name;
      EXPECT_TRUE(contains(text, a.required() ? "required" : a.default_yaml))
          << kind << "." << a.name;
      for (const std::string& choice : a.choices) EXPECT_TRUE(contains(text, choice)) << choice;
    }
  }
  for (const auto& [name, s] : c.all_sections()) {
    EXPECT_TRUE(contains(text, name)) << name;
    EXPECT_TRUE(contains(text, s.doc)) << s.doc;
    for (const ArgSpec& a : s.args) {
      EXPECT_TRUE(contains(text, a.name)) << name << "." << a.name;
      EXPECT_TRUE(contains(text, a.default_yaml)) << name << "." << a.name;
      EXPECT_TRUE(contains(text, a.doc)) << name << "." << a.name;
    }
  }
}

TEST(SchemaDocs, TextMentionsEveryKindArgumentAndDefault) {
  const DocsCatalog c;
  const std::string text = format_nodes_text(c);
  expect_mentions_everything(c, text);
  for (const auto& [kind, s] : c.all_nodes()) {
    for (const ArgSpec& a : s.args) EXPECT_TRUE(contains(text, a.doc)) << a.doc;
  }
  // One kind in full.
  EXPECT_TRUE(contains(text,
                       "decode  (transform, sample -> image)\n"
                       "  Decodes PNG or JPEG bytes.\n"
                       "  devices: cpu, cuda; default concurrency: auto\n"
                       "  arguments:\n"
                       "    name      type  default  allowed  doc\n"
                       "    max_side  int   4096     >= 1     Largest accepted side in "
                       "pixels.\n"))
      << text;
  EXPECT_TRUE(contains(text, "files  (source, (none) -> sample)")) << text;
  EXPECT_TRUE(contains(text, "sink  (sink, batch -> (none))")) << text;
  EXPECT_TRUE(contains(text, "default concurrency: serial; ordered")) << text;
  EXPECT_TRUE(contains(text, "one of: fast, slow")) << text;
  EXPECT_TRUE(contains(text, "int list of 2")) << text;
  EXPECT_TRUE(contains(text, "string or null")) << text;
  EXPECT_TRUE(contains(text, "0 to 1")) << text;
  EXPECT_TRUE(contains(text, "size  int   required")) << text;
  EXPECT_TRUE(contains(text, "threads        int or auto  auto")) << text;
}

TEST(SchemaDocs, MarkdownHasCommonKeysSectionsAndTables) {
  const DocsCatalog c;
  const std::string md = format_nodes_markdown(c);
  expect_mentions_everything(c, md);
  EXPECT_EQ(md.rfind("# ", 0), 0u);
  for (const char* key : {"| `kind` |", "| `device` |", "| `concurrency` |"}) {
    EXPECT_TRUE(contains(md, key)) << key;
  }
  for (const auto& [kind, s] : c.all_nodes()) {
    EXPECT_TRUE(contains(md, "### `" + kind + "`\n")) << kind;
  }
  EXPECT_TRUE(contains(md, "### `data`\n"));
  EXPECT_TRUE(contains(md, "| name | type | default | doc |\n| --- | --- | --- | --- |\n"));
  EXPECT_TRUE(contains(md,
                       "| `size` | int list of 2 | `[224, 224]` | Output height and width. "
                       "Range: >= 1. |"))
      << md;
  EXPECT_TRUE(contains(md, "| `size` | int | required | Images per batch. Range: >= 1. |")) << md;
  EXPECT_TRUE(contains(md, "| `mode` | choice | `fast` | Resampling mode. One of: fast, slow. |"))
      << md;
  EXPECT_TRUE(contains(md, "Weights file \\| or null.")) << "pipes escaped in cells";
  EXPECT_TRUE(contains(md, "- devices: `cpu`, `cuda`\n")) << md;
  EXPECT_TRUE(contains(md, "- default concurrency: `auto`\n")) << md;
  EXPECT_TRUE(contains(md, "No arguments.")) << md;
  // The common keys come once, before any kind.
  EXPECT_EQ(md.find("| `concurrency` |"), md.rfind("| `concurrency` |"));
  EXPECT_LT(md.find("## Common node keys"), md.find("### `augment`"));
}

TEST(SchemaDocs, DeterministicAndInCatalogOrder) {
  const DocsCatalog c;
  EXPECT_EQ(format_nodes_text(c), format_nodes_text(c));
  EXPECT_EQ(format_nodes_markdown(c), format_nodes_markdown(c));
  const DocsCatalog other;  // built separately: the same text
  EXPECT_EQ(format_nodes_markdown(c), format_nodes_markdown(other));

  const std::string md = format_nodes_markdown(c);
  std::size_t last = 0;
  for (const std::string& kind : c.kinds()) {
    const std::size_t pos = md.find("### `" + kind + "`");
    ASSERT_NE(pos, std::string::npos) << kind;
    EXPECT_GT(pos, last) << kind << " out of order";
    last = pos;
  }
  const std::string text = format_nodes_text(c);
  EXPECT_LT(text.find("augment  ("), text.find("batch  ("));
  EXPECT_LT(text.find("batch  ("), text.find("decode  ("));
  EXPECT_LT(text.find("\ndata\n"), text.find("\nresources\n"));
}

}  // namespace
}  // namespace capflow::graph
