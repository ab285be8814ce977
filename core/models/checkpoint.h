#pragma once

#include "core/models/safetensors.h"

#include <torch/nn/module.h>

#include <filesystem>
#include <string>
#include <vector>

namespace tunebench {

// The weights of a Hugging Face model folder: model.safetensors, sharded safetensors
// (model.safetensors.index.json), or pytorch_model.bin (a torch.save zip file, read by
// readTorchPickle).
// Throws tunebench::Error naming the file (and tensor) for anything unreadable.
TensorMap readCheckpoint(const std::filesystem::path &folder);

// What loading a state dict into a module found, in plain words for the user.
struct LoadReport
{
  std::vector<std::string> loaded;
  std::vector<std::string> missing;     // parameters the checkpoint lacks (initialised randomly)
  std::vector<std::string> unexpected;  // checkpoint tensors the model does not use
  std::vector<std::string> reinitialised; // head tensors whose shape differs (another label count)
  std::string summary() const;
};

// Copies checkpoint tensors into the module's parameters by name. Keys may carry the encoder
// prefix or not ("bert.embeddings..." / "embeddings..."), and old LayerNorm.gamma/beta names are
// accepted. Floating tensors are converted to the parameter's dtype. A shape mismatch outside the
// task head, or a non-floating tensor for a floating parameter, throws tunebench::Error naming the
// source and the tensor; in the head it is re-initialised and reported (`headPrefixes`).
// stripPrefix: removed from checkpoint keys first (loading "bert.*" weights into a bare encoder).
LoadReport loadStateDict(torch::nn::Module &module, const TensorMap &checkpoint, const std::string &source,
                         const std::string &encoderPrefix, const std::vector<std::string> &headPrefixes,
                         const std::string &stripPrefix = {});

// The module's parameters and persistent buffers by name (what a checkpoint holds).
TensorMap stateDict(const torch::nn::Module &module);

// Writes config.json and model.safetensors into folder (each through a temporary file).
void saveHuggingFaceFolder(const std::filesystem::path &folder, const torch::nn::Module &module,
                           const std::string &configJson);

} // namespace tunebench
