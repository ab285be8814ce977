#include "core/models/estimate.h"

#include "core/util/error.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace tunebench {

std::int64_t countParameters(const TransformerShape &s)
{
  const std::int64_t h = s.hiddenSize, i = s.intermediateSize, v = s.vocabSize;
  const std::int64_t layerNorm = 2 * h;
  if (s.family == "t5") {
    const std::int64_t inner = static_cast<std::int64_t>(s.numHeads) * s.headSize;
    const std::int64_t attention = 4 * h * inner, ffn = (s.gated ? 3 : 2) * h * i;
    const std::int64_t bias = static_cast<std::int64_t>(s.buckets) * s.numHeads;
    std::int64_t total = v * h + (s.tied ? 0 : v * h) + 2 * h;          // shared, lm_head, final norms
    total += s.numLayers * (attention + ffn + 2 * h) + (s.numLayers ? bias : 0);
    total += s.decoderLayers * (2 * attention + ffn + 3 * h) + (s.decoderLayers ? bias : 0);
    return total;
  }
  if (s.family == "use-lite") {
    // Embeddings of width e; layer 0 attends at width e and projects its residual to h.
    const std::int64_t e = s.embeddingSize;
    auto layer = [&](std::int64_t in) {
      return 2 * in + (in * 3 * in + 3 * in) + (in * h + h) + (in != h ? in * h + h : 0) + layerNorm + (h * i + i) +
             (i * h + h);
    };
    std::int64_t total = v * e + h * h + h;
    for (int l = 0; l < s.numLayers; ++l)
      total += layer(l == 0 ? e : h);
    return total;
  }
  std::int64_t embeddings = v * h + static_cast<std::int64_t>(s.maxPositions) * h + s.typeVocabSize * h;
  if (s.family != "gpt2")
    embeddings += layerNorm; // BERT-style embeddings LayerNorm
  // Attention (q, k, v, out with biases), FFN (two linears with biases), two LayerNorms.
  const std::int64_t layer = 4 * (h * h + h) + (h * i + i) + (i * h + h) + 2 * layerNorm;
  std::int64_t total = embeddings + s.numLayers * layer;
  if (s.family == "gpt2")
    total += layerNorm; // ln_f; the LM head is tied
  if (s.pooler)
    total += h * h + h;
  return total;
}

double layerActivationNumbers(const TransformerShape &s, int batch, int sequenceLength,
                              const LayerTraining &training, Precision precision)
{
  const double b = batch, t = sequenceLength, h = s.hiddenSize, i = s.intermediateSize,
               a = std::max(1, s.numHeads);
  const double keys = t + std::max(0, training.extraKeys);
  const bool fp32 = precision == Precision::Float32;
  if (!training.weightsTrain && fp32 && training.extraKeys <= 0) // the blocks' inputs, the last norm's
    return t * b * ((s.family == "gpt2" ? 2.0 : 3.0) * h + training.keptPerToken);
  // q (t tokens), k and v (keys), the attention weights (t × keys per head), two LayerNorm inputs.
  const double always = b * h * (t + 2.0 * keys) + a * t * keys * b + 2.0 * t * b * h;
  if (training.weightsTrain) // the four products' inputs, the activation's input
    return always + t * b * (3.0 * h + 2.0 * i);
  return always + t * b * (training.keptPerToken + training.keptInAttention + (fp32 ? 0.0 : i));
}

TrainingEstimate estimateTraining(const TransformerShape &s, std::int64_t trainable, int batch,
                                  int sequenceLength, Precision precision, int optimizerStates,
                                  int checkpointEvery, const LayerTraining &layers)
{
  TrainingEstimate e;
  e.parameters = countParameters(s);
  e.trainable = trainable;
  const double nonEmbedding = static_cast<double>(e.parameters) - static_cast<double>(s.vocabSize) * s.hiddenSize;
  e.weightBytes = 4.0 * static_cast<double>(e.parameters);
  // In bf16 the linear maps keep bf16 copies of their weights for the whole run (core/models/bf16linear.h).
  if (precision == Precision::BFloat16)
    e.weightBytes += 2.0 * nonEmbedding;
  e.gradientBytes = 4.0 * static_cast<double>(trainable);
  e.optimizerBytes = 4.0 * optimizerStates * static_cast<double>(trainable);
  const double b = batch, t = sequenceLength, h = s.hiddenSize, a = std::max(1, s.numHeads);
  const bool korthikanti = s.family == "t5" || s.family == "use-lite";
  const double perLayer16 = korthikanti
                                ? t * b * h * (34.0 + 5.0 * a * t / h)
                                : 2.0 * layerActivationNumbers(s, batch, sequenceLength, layers, precision);
  // A decoder layer (T5) also attends to the encoder's output: the formula's attention block once
  // more (11·s·b·h + 5·a·s²·b) and a norm (2·s·b·h).
  const double perDecoderLayer16 = t * b * h * (47.0 + 10.0 * a * t / h);
  const double scale = precision == Precision::Float32 ? 2.0 : 1.0;
  const auto checkpointedOf = [&](int layers) {
    return checkpointEvery > 0 ? (layers + checkpointEvery - 1) / checkpointEvery : 0;
  };
  const int checkpointed = checkpointedOf(s.numLayers), decoderCheckpointed = checkpointedOf(s.decoderLayers);
  e.activationBytes = scale * (perLayer16 * (s.numLayers - checkpointed) +
                               perDecoderLayer16 * (s.decoderLayers - decoderCheckpointed));
  // Kept inputs, and one layer again while it is recomputed: with its weights' products' inputs
  // and the dropped attention weights (a recomputation keeps them until its own backward pass ends).
  const double recomputed16 =
      korthikanti ? perLayer16
                  : 2.0 * (layerActivationNumbers(
                               s, batch, sequenceLength,
                               {true, layers.keptPerToken, layers.extraKeys, layers.keptInAttention}) +
                           a * t * (t + layers.extraKeys) * b);
  if (checkpointed + decoderCheckpointed > 0)
    e.activationBytes += 4.0 * t * b * h * (checkpointed + decoderCheckpointed) +
                         scale * (decoderCheckpointed > 0 ? perDecoderLayer16 : recomputed16);
  // The live peak: weights and optimizer state throughout; activations and gradients trade places
  // in the backward pass (a layer's activations are freed as its gradients are made, and the
  // trainer drops the gradients before the next forward pass), so the larger of the two counts.
  // The default allocator keeps up to 10% above the live peak mapped (core/runtime/cpuallocator.h).
  const double live = e.weightBytes + e.optimizerBytes + std::max(e.activationBytes, e.gradientBytes);
  e.allocatorBytes = 0.1 * live;
  e.totalBytes = live + e.allocatorBytes;
  const double tokens = b * t;
  // Attention's products: one per encoder (or decoder-only) layer, two per T5 decoder layer.
  const double forward =
      2.0 * nonEmbedding * tokens + 4.0 * (s.numLayers + 2.0 * s.decoderLayers) * t * t * h * b;
  const double trainableShare = e.parameters ? static_cast<double>(trainable) / static_cast<double>(e.parameters) : 0;
  // Backward: gradients w.r.t. activations (≈ forward) always, w.r.t. weights (≈ forward) for what trains.
  const int allLayers = s.numLayers + s.decoderLayers;
  const double recomputed =
      allLayers > 0 ? static_cast<double>(checkpointed + decoderCheckpointed) / allLayers : 0.0;
  e.flopsPerStep = forward * (2.0 + trainableShare + recomputed);
  return e;
}

std::string formatBytes(double bytes)
{
  const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (bytes >= 1024.0 && u < 4) {
    bytes /= 1024.0;
    ++u;
  }
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, u == 0 ? "%.0f %s" : "%.1f %s", bytes, units[u]);
  return buffer;
}

void requireWeightsFit(const std::filesystem::path &configFile, const TransformerShape &shape)
{
  double limit = static_cast<double>(sysconf(_SC_PHYS_PAGES)) * static_cast<double>(sysconf(_SC_PAGESIZE));
  if (const char *env = std::getenv("TUNEBENCH_MAX_MODEL_MB"); env && *env) {
    char *end = nullptr;
    const double mb = std::strtod(env, &end);
    if (*end != '\0' || !(mb > 0))
      throw Error(std::string("TUNEBENCH_MAX_MODEL_MB: expected a positive number of MiB, got \"") + env +
                  "\"");
    limit = mb * 1024.0 * 1024.0;
  }
  // Counted in double: a config's sizes can multiply past any integer.
  const double layers = static_cast<double>(shape.numLayers) + shape.decoderLayers;
  const double h = shape.hiddenSize, ffn = shape.intermediateSize;
  const double bytes = 4.0 * (layers * (4.0 * h * h + 2.0 * h * ffn) +
                              (static_cast<double>(shape.vocabSize) + shape.maxPositions) * h);
  if (bytes > limit)
    throw Error(configFile.string() + ": the model it describes (" +
                std::to_string(static_cast<long long>(shape.numLayers) + shape.decoderLayers) + " layers × " +
                std::to_string(shape.hiddenSize) + " hidden) needs about " + formatBytes(bytes) +
                " for its weights alone, more than the " + formatBytes(limit) +
                " this machine has (TUNEBENCH_MAX_MODEL_MB sets another limit)");
}

TransformerShape denseShape(int vocab, int hidden, int layers, int ffn, int positions, int decoderLayers)
{
  TransformerShape s;
  s.vocabSize = vocab;
  s.hiddenSize = hidden;
  s.numLayers = layers;
  s.intermediateSize = ffn;
  s.maxPositions = positions;
  s.decoderLayers = decoderLayers;
  return s;
}

} // namespace tunebench
