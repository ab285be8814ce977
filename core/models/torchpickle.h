#pragma once

#include "core/models/safetensors.h"

#include <filesystem>

namespace tunebench {

// The tensors of a torch.save zip file (pytorch_model.bin) holding a state dict, read by
// tunebench's own bounded reader rather than LibTorch's general unpickler (which trusts the file):
// the zip's stored entries are checked against the file's size, data.pkl runs on a small pickle
// machine that knows only what a state dict needs (dictionaries, tuples, numbers, strings,
// OrderedDict, _rebuild_tensor_v2 / _rebuild_parameter and typed storages), every opcode's
// operands are checked before use, and each tensor's view (offset, sizes, strides) is checked
// against its storage, and each storage against its record, before any byte is copied.
// String keys with tensor values of the top-level dictionary are returned; anything else in the
// file, or anything malformed, is refused with an Error naming the file and the byte offset.
TensorMap readTorchPickle(const std::filesystem::path &path);

} // namespace tunebench
