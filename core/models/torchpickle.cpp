#include "core/models/torchpickle.h"

#include "core/models/picklemachine.h"
#include "core/models/storedzip.h"
#include "core/util/error.h"
#include "core/util/files.h"

#include <torch/torch.h>

#include <cstring>

namespace tunebench {
namespace fs = std::filesystem;

namespace {

torch::Dtype dtypeOf(const std::string &name)
{
  static const std::map<std::string, torch::Dtype> kDtypes = {
      {"F32", torch::kFloat32}, {"F16", torch::kFloat16}, {"BF16", torch::kBFloat16},
      {"F64", torch::kFloat64}, {"I64", torch::kInt64},   {"I32", torch::kInt32},
      {"I16", torch::kInt16},   {"I8", torch::kInt8},     {"U8", torch::kUInt8},
      {"BOOL", torch::kBool}};
  return kDtypes.at(name); // readStateDictPickle gives these names only
}

} // namespace

TensorMap readTorchPickle(const fs::path &path)
{
  const std::string file = path.string();
  const std::string data = readInputFile(path, "a PyTorch checkpoint");
  const std::map<std::string, ZipRecord> records = readStoredZip(data, file);
  std::string prefix;
  const ZipRecord *pickle = nullptr;
  for (const auto &[name, record] : records)
    if (name.size() >= 8 && name.compare(name.size() - 8, 8, "data.pkl") == 0 &&
        (name.size() == 8 || name[name.size() - 9] == '/')) {
      prefix = name.substr(0, name.size() - 8);
      pickle = &record;
      break;
    }
  if (!pickle)
    throw Error(file + ": not a torch.save file: it holds no data.pkl");
  const auto order = records.find(prefix + "byteorder");
  if (order != records.end() && data.compare(order->second.offset, order->second.size, "little") != 0)
    throw Error(file + ": saved on a big-endian machine; tunebench reads little-endian checkpoints");
  const std::vector<PickledTensor> tensors = readStateDictPickle(
      std::string_view(data).substr(pickle->offset, pickle->size), file + " (" + prefix + "data.pkl)");
  std::map<std::string, torch::Tensor> storages;
  TensorMap out;
  for (const PickledTensor &p : tensors) {
    auto it = storages.find(p.storage);
    if (it == storages.end()) {
      const auto record = records.find(prefix + "data/" + p.storage);
      if (record == records.end())
        throw Error(file + ": tensor \"" + p.name + "\" uses storage \"" + p.storage +
                    "\", which the file lacks");
      std::int64_t bytes = 0;
      if (__builtin_mul_overflow(p.storageElements, p.elementBytes, &bytes) ||
          static_cast<std::uint64_t>(bytes) != record->second.size)
        throw Error(file + ": storage \"" + p.storage + "\" should hold " +
                    std::to_string(p.storageElements) + " elements of " + std::to_string(p.elementBytes) +
                    " bytes but its record has " + std::to_string(record->second.size) + " bytes");
      torch::Tensor t = torch::empty({p.storageElements}, torch::TensorOptions().dtype(dtypeOf(p.dtype)));
      if (record->second.size)
        std::memcpy(t.data_ptr(), data.data() + record->second.offset, record->second.size);
      it = storages.emplace(p.storage, t).first;
    } else if (it->second.scalar_type() != dtypeOf(p.dtype) || it->second.numel() != p.storageElements) {
      throw Error(file + ": storage \"" + p.storage + "\" is referred to with two different types or sizes");
    }
    out.emplace(p.name, it->second.as_strided(p.sizes, p.strides, p.offset));
  }
  return out;
}

} // namespace tunebench
