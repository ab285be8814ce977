#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tunebench {

// One tensor of a state dict's pickle: its key, its storage (record name, dtype in safetensors'
// names — F32, F16, BF16, F64, I64, I32, I16, I8, U8, BOOL — element size and count) and its view
// of it, already checked to lie inside the storage.
struct PickledTensor
{
  std::string name, storage, dtype;
  std::int64_t elementBytes = 0, storageElements = 0, offset = 0;
  std::vector<std::int64_t> sizes, strides;
};

// Runs a torch.save data.pkl on a small pickle machine that knows only what a state dict needs:
// the opcodes of protocols 2–4 for dictionaries, tuples, lists, numbers and strings, the memo,
// OrderedDict, _rebuild_tensor_v2 / _rebuild_parameter and typed storages (persistent ids). Every
// opcode's operands are checked before use and nothing is called: anything else, or anything
// malformed, is refused with an Error naming `where` and the byte offset. Returns the top-level
// dictionary's string-keyed tensors in file order. No LibTorch: fuzzable on its own.
std::vector<PickledTensor> readStateDictPickle(std::string_view pickle, const std::string &where);

} // namespace tunebench
