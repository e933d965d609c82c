// Explicit registration of every node kind and section this build has (no static
// initialisers): one function per node family, and one that calls them all.
#pragma once

namespace capflow::graph {
class Registry;
}

namespace capflow::nodes {

void register_data_sections(graph::Registry& registry);  // data, train
void register_io_nodes(graph::Registry& registry);       // read_files, decode_image
void register_image_nodes(graph::Registry& registry);    // bms_augment
void register_batch_nodes(graph::Registry& registry);    // batch, discard
// resnet_encoder, attention_lstm, backward, adam, adamw (LibTorch)
void register_model_nodes(graph::Registry& registry);
void register_reduce_nodes(graph::Registry& registry);  // allreduce (c10d Gloo)
// to_device and the cpu -> cuda transfer (CUDA builds); elsewhere a note that says the build
// has no CUDA, for the error a pipeline asking for cuda gets
void register_device_nodes(graph::Registry& registry);

// The engine's sections and every node family above.
void register_all(graph::Registry& registry);

}  // namespace capflow::nodes
