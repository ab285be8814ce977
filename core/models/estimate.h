#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace tunebench {

// The shape of a transformer, enough to count parameters and estimate a training step.
struct TransformerShape
{
  std::string family;  // "bert", "roberta", "distilbert", "gpt2", "use-lite"
  int vocabSize = 0;
  int hiddenSize = 0;
  int numLayers = 0;
  int numHeads = 0;
  int intermediateSize = 0;
  int maxPositions = 0;
  int typeVocabSize = 0;
  bool pooler = false;
  int embeddingSize = 0; // USE-Lite: token embeddings narrower than the hidden size
  // T5 only:
  int decoderLayers = 0;
  int headSize = 0;       // d_kv
  int buckets = 0;        // relative attention buckets
  bool gated = false;     // gated feed-forward (v1.1)
  bool tied = true;       // LM head tied to the shared embeddings
};

struct TrainingEstimate
{
  std::int64_t parameters = 0;
  std::int64_t trainable = 0;
  double weightBytes = 0;     // all weights (float32 master copy; in bf16 also the linear maps' bf16 copies)
  double gradientBytes = 0;   // trainable only
  double optimizerBytes = 0;  // AdamW: two float32 moments per trainable weight
  double activationBytes = 0; // kept for the backward pass
  double allocatorBytes = 0;  // mapped above the live peak by the default allocator (up to 10%)
  // The step's peak: weights, optimizer state, the larger of activations and gradients (which
  // trade places in the backward pass), and allocatorBytes.
  double totalBytes = 0;
  double flopsPerStep = 0;    // forward + backward
};

enum class Precision { Float32, BFloat16, Float16 };

// What a strategy makes each transformer layer keep for the backward pass.
struct LayerTraining
{
  bool weightsTrain = true;   // the linear maps' weights get gradients (full and partial fine-tuning)
  double keptPerToken = 0;    // numbers per token a strategy keeps outside the attention (adapters' inputs)
  int extraKeys = 0;          // keys and values a strategy puts in front of the layer's own (prefix tuning)
  double keptInAttention = 0; // what its maps in the attention keep (LoRA: their input; IA3: k and v)
};

// Parameters of the encoder/decoder (no task head), counted from the shape.
std::int64_t countParameters(const TransformerShape &shape);

// The numbers one BERT-style or GPT-2 layer keeps for its backward pass (s tokens, batch b, width
// h, feed-forward width i, a heads), counted from what this engine saves: with trainable weights
// s·b·(8h + 2i) + a·s²·b — the inputs of the four linear maps' products (the layer's input, the
// attention's context, the feed-forward's input and its activation), q, k and v, the attention
// weights (softmax's output: the dropout is drawn again in the backward pass), the two
// LayerNorms' inputs and the activation's input. With frozen weights in fp32 the attention and
// the feed-forward block are computed again in the backward pass (core/models/checkpointing.h):
// the layer keeps the blocks' inputs and the last norm's, s·b·3h (GPT-2, whose norms come first:
// s·b·2h), plus keptPerToken. With frozen weights in bf16, or with extraKeys (prefix tuning, whose
// keys come from outside the layer), the attention keeps q, k, v and the attention weights and
// the strategy's keptInAttention; the LayerNorms' inputs; in bf16 the activation's input.
double layerActivationNumbers(const TransformerShape &shape, int batch, int sequenceLength,
                              const LayerTraining &training, Precision precision = Precision::Float32);

// Memory and FLOPs of one optimizer step. trainable: parameters that get gradients (the strategy
// decides; pass countParameters() for full fine-tuning). Activations: BERT-style and GPT-2 layers
// as layerActivationNumbers() counts them, at 4 bytes (fp32) or 2 (bf16); T5 and USE-Lite follow
// Korthikanti et al. (2022): per layer s·b·h·(34 + 5·a·s/h) bytes at 16 bits, doubled at 32 bits
// (a T5 decoder layer adds its cross-attention block: s·b·h·(47 + 10·a·s/h)); FLOPs are
// 2·N per token forward plus attention's 4·s²·h per layer and sequence, and a backward pass of
// twice the forward for what trains (once for what only passes gradients on). checkpointEvery k > 0:
// every k-th layer keeps only its float32 input and one layer's activations exist again while it
// is recomputed; its forward FLOPs are added to the backward pass.
TrainingEstimate estimateTraining(const TransformerShape &shape, std::int64_t trainable, int batch,
                                  int sequenceLength, Precision precision, int optimizerStatesPerWeight = 2,
                                  int checkpointEvery = 0, const LayerTraining &layers = {});

std::string formatBytes(double bytes);

// The memory guard: a model config whose float32 weights alone would not fit this machine's
// memory (or TUNEBENCH_MAX_MODEL_MB when set) is refused before anything is allocated, naming the
// file — a config.json with 10^6 layers fails at once instead of allocating until the machine
// gives out.
void requireWeightsFit(const std::filesystem::path &configFile, const TransformerShape &shape);
// The sizes the guard reads, from a family's config: vocabulary, width, layers (encoder and
// decoder), feed-forward width, positions.
TransformerShape denseShape(int vocab, int hidden, int layers, int ffn, int positions, int decoderLayers = 0);

} // namespace tunebench
