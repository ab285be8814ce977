#pragma once

#include "core/config/experiment.h"
#include "core/train/events.h"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace tunebench {

struct DecisionRule;
struct BuiltModel;
struct Batch;
class Tokenizer;

// A run's folder opened again for evaluation and prediction with its best model.
class TrainedRun
{
public:
  // A run folder (config.yaml, labels.json, best/ or state/), or an exported folder that carries
  // its run's config as tunebench.yaml (Hugging Face, merged or tunebench layout): the model is
  // then read from the folder itself (model.path "."), with its heads.
  static std::unique_ptr<TrainedRun> open(const std::filesystem::path &runDir);
  ~TrainedRun();
  const ExperimentConfig &config() const;
  const std::vector<std::string> &labels() const;
  const std::filesystem::path &folder() const;
  bool isExport() const;
  BuiltModel &model();
  const Tokenizer &tokenizer() const;
  // Inference in int8 from here on: a LoRA/IA3 update merged into the weights, then every linear map
  // quantised (core/models/int8linear.h). What was quantised: maps, fp32_bytes, int8_bytes, engine.
  nlohmann::json useInt8();
  // The first `limit` rows of a split (the run's own split.json), as batches of `batchSize` rows
  // (for checking an export against the run on the same inputs).
  std::vector<Batch> sampleBatches(const std::string &split, int limit, int batchSize);
  EvalEvent evaluate(const std::string &split); // train, validation or test (the run's own split)

  // Per-example results of a classification or tagging run on one split (error analysis,
  // calibration, threshold tuning, ensembles, tag repair).
  struct Detailed
  {
    EvalEvent event;
    std::vector<int> rows; // dataset rows of the split, in split order
    std::vector<std::string> texts;
    std::vector<int> truth;                         // single-label class index (-1 when unknown)
    std::vector<std::vector<double>> probabilities; // per row, per label
    // Tagging: per row, the reference and predicted tags and per word the labels' log-probabilities.
    std::vector<std::vector<std::string>> truthTags, predictedTags;
    std::vector<std::vector<std::vector<double>>> tagLogProbs;
    // Instruction tuning: greedy answers to the split's first `evaluation.generate` prompts
    // beside the reference answers.
    struct Generation
    {
      std::string prompt, generated, reference;
    };
    std::vector<Generation> generations;
  };
  Detailed evaluateDetailed(const std::string &split);

  struct Prediction
  {
    std::string text;
    std::vector<std::string> labels;   // predicted label(s), or one tag per word for tagging
    std::vector<double> probabilities; // per label (classification)
  };
  // Classification: the label(s) and probabilities; tagging: a tag per whitespace-separated word;
  // language models: the generated continuation (causal LM) or answer (instruction, seq2seq) as labels[0];
  // masked LM: the most likely token at each [MASK]; span corruption: the spans for the text's
  // <extra_id_N> markers, as generated.
  // How language models generate in predict(): greedy by default; beam search with beams > 1;
  // sampling (temperature, top-k, top-p) when `sample` is set, text i seeded with seed + i.
  struct Decoding
  {
    int beams = 1;
    bool sample = false;
    double temperature = 1.0;
    double topP = 1.0;
    int topK = 0;
    int maxNewTokens = 0; // 0: the run's evaluation.max_new_tokens
    std::uint64_t seed = 0;
    bool useCache = true; // false recomputes the whole sequence at every step (a check of the cache)
  };
  std::vector<Prediction> predict(const std::vector<std::string> &texts, const Decoding &decoding);
  std::vector<Prediction> predict(const std::vector<std::string> &texts); // greedy
private:
  TrainedRun();
  void ensureData();
  std::vector<std::string> fillIn(const std::string &text);
  struct Impl;
  std::unique_ptr<Impl> d;
};

} // namespace tunebench
