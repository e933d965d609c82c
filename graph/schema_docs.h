// Human-readable references generated from the schema catalog: the text printed by
// `capflow nodes` and the Markdown page docs/pipeline-nodes.md. Both list sections and kinds in
// the catalog's (sorted) order, so the output is deterministic.
#pragma once

#include <string>

#include "graph/pipeline_spec.h"

namespace capflow::graph {

// Plain text: per kind its role, input -> output, devices, default concurrency and doc, then
// each argument (name, type, default or "required", choices or range, doc); then the sections.
std::string format_nodes_text(const SchemaCatalog& catalog);

// Markdown: the common node keys (kind, device, concurrency) once, then a heading and an
// argument table (name | type | default | doc) per section and per kind.
std::string format_nodes_markdown(const SchemaCatalog& catalog);

}  // namespace capflow::graph
