#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace tunebench {

// One experiment, as its YAML file describes it (see resources/presets/*.yaml). Every field has
// a default in the usual range; paths are resolved against the config file's folder.
struct ExperimentConfig
{
  std::string name = "experiment";
  std::uint64_t seed = 42;

  struct Model
  {
    std::string path;              // a model folder (Hugging Face or USE-Lite TF.js)
    std::string init = "pretrained"; // pretrained | random
    int maxLength = 128;           // tokens per example (longer ones are truncated); LM block size
    // A GPT-2 made from scratch (language modelling with init: random and a tokenizer-only folder).
    int scratchLayers = 4, scratchHidden = 256, scratchHeads = 4;
  } model;

  struct Task
  {
    // single_label | multi_label | token_tagging | causal_lm | instruction | seq2seq | masked_lm |
    // span_corruption
    std::string kind = "single_label";
    double noiseDensity = 0.15; // masked_lm: share of tokens chosen; span_corruption: noise density
    double meanSpan = 3.0;      // span_corruption: mean noise-span length
    std::string promptTemplate = "alpaca"; // instruction, seq2seq: alpaca | chat | plain
    std::string pooling = "native";    // native | first | mean
    double headDropout = 0.1;
  } task;

  struct Data
  {
    std::string path;
    std::map<std::string, std::string> columns; // role -> column (text, text_pair, label, tokens, tags, split)
    std::string tagScheme;                      // token tagging: bio | iob1 | iobes | plain ("" = detect)
    int subsetRows = 0;                         // 0: all rows
    double subsetFraction = 1.0;
    double train = 0.8, validation = 0.1, test = 0.1;
    bool stratified = true;
    int folds = 0; // k-fold cross-validation: fold `fold` of `folds` is the test split (0 = off)
    int fold = 0;
    // Cleaning steps (each optional).
    bool cleanWhitespace = true, cleanHtml = false, cleanLowercase = false, maskUrls = false, maskEmails = false,
         deduplicate = false;
    std::string unicodeForm; // "", nfc, nfkc
    // Augmentation of the training split (0 = off).
    int augmentPerRow = 0;
    double synonymRate = 0.1, insertRate = 0.1, swapRate = 0.1, deleteRate = 0.1;
    // Paraphrases of the training rows by a sequence-to-sequence (T5) model folder, optionally
    // through a second one (back-translation: to a pivot language and back). Off when empty.
    struct Paraphrase
    {
      std::string model, backModel; // folders
      std::string prefix,
          backPrefix;        // put before each input, a space between ("translate English to German:")
      int perRow = 1;        // paraphrases per training row
      bool sampling = false; // false: greedy; true: top-p 0.9 sampling, seeded
    } paraphrase;
  } data;

  struct Strategy
  {
    std::string name = "full"; // full | partial | linear_probe | bitfit | lora | adapters | ia3 | prefix | prompt
    // partial
    bool freezeEmbeddings = true;
    int freezeBottomLayers = 0;
    std::vector<int> freezeLayers;
    double layerDecay = 1.0;
    double headLrScale = 0.0; // 0: same as the base LR
    // Frozen embeddings + bottom layers (partial, linear_probe) run once per example, without
    // dropout, and their outputs are cached (core/train/frozencache.h).
    bool cacheFrozen = false;
    // lora
    int loraR = 8;
    double loraAlpha = 16;
    double loraDropout = 0.1;
    std::vector<std::string> loraTargets; // empty: the family's query/value maps
    bool rsLora = false;
    std::string loraBias = "none";
    // prefix tuning
    int prefixTokens = 20;
    bool prefixReparameterize = false;
    int prefixHidden = 512;
    // prompt tuning
    int promptTokens = 20;
    std::string promptInitText; // "": random initialisation
    std::string adapter;        // a PEFT adapter folder loaded onto the base model ("": none)
    // adapters
    std::string adapterKind = "houlsby";
    int adapterReduction = 16;
    std::string adapterActivation = "relu";
  } strategy;

  struct Training
  {
    int epochs = 5;
    int batchSize = 32;
    double learningRate = 5e-5;
    std::string optimizer = "adamw"; // adamw | adam | sgd
    double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
    double momentum = 0.9;
    bool nesterov = false;
    double weightDecay = 0.01;
    std::string scheduler = "linear"; // constant | constant_warmup | linear | cosine | cosine_restarts |
                                      // polynomial | inverse_sqrt | plateau
    int warmupSteps = 0;
    double warmupRatio = 0.06;
    int cycles = 1;          // cosine_restarts
    double power = 1.0;      // polynomial
    double plateauFactor = 0.5;
    int plateauPatience = 1;
    int gradientAccumulation = 1;
    // Activation checkpointing (core/models/checkpointing.h): 0 off; k: every k-th transformer
    // layer keeps only its input and is computed again in the backward pass (1: every layer).
    int activationCheckpointing = 0;
    double maxGradNorm = 1.0; // 0: no clipping
    double labelSmoothing = 0.0;
    double l2sp = 0.0;        // L2-SP: λ/2·‖θ − θ₀‖² toward the starting weights (0: off)
    double dropout = -1;      // >= 0 overrides the model's dropout
    std::string precision = "auto"; // auto | fp32 | bf16 | fp16
    std::string device = "auto";    // auto | cpu | cuda
    bool scaleLrWithBatch = false;  // linear scaling rule: LR × effective batch / 32
    bool bucketByLength = true;
    int maxSteps = 0;               // 0: epochs decide
    int threads = 0;                // 0: every usable core
    // Data-parallel training (core/runtime/distributed.h): processes on this machine, or the
    // world that torchrun/a scheduler sets through WORLD_SIZE.
    struct Distributed
    {
      int processes = 1;            // world size (1: one process)
      std::string backend = "auto"; // auto | gloo | nccl
      int timeout = 60;             // seconds a collective or the rendezvous may wait for a rank
      double bucketMb = 4.0;        // gradient all-reduce bucket size
    } distributed;
  } training;

  // How a run computes: tunebench's CPU kernels (hash dropout, the fused optimizer step, bf16
  // weight copies through oneDNN, the frozen-layer cache) or LibTorch's own operations, which
  // every device has. auto: tunebench's on the CPU, LibTorch's elsewhere.
  struct Runtime
  {
    std::string kernels = "auto"; // auto | tunebench | aten
  } runtime;

  struct Evaluation
  {
    int everySteps = 0; // 0: at the end of every epoch only
    std::string metric = "auto"; // auto | accuracy | macro_f1 | micro_f1 | entity_f1 | loss | perplexity
    std::string mode = "auto";   // auto | max | min
    int patience = 3;            // early stopping (0: off)
    double threshold = 0.0;      // minimum improvement
    int generate = 16;           // instruction: validation examples answered by greedy generation
    int maxNewTokens = 48;
  } evaluation;

  // Multi-task learning: more tasks trained with the main one (task/data above) on the shared
  // encoder, each with its own head and data; every task is evaluated on its own validation and
  // test splits (metrics named TASK/metric), and the run selects on the mean of their scores.
  struct AuxiliaryTask
  {
    std::string name;
    std::string kind = "single_label"; // single_label | multi_label | token_tagging
    std::string path;                  // its data file
    std::map<std::string, std::string> columns;
    std::string tagScheme;
    int subsetRows = 0;
    double weight = 1.0; // its loss is multiplied by this
  };
  // The forgetting meter: the starting model's pre-training objective (masked-LM loss for
  // BERT/RoBERTa/DistilBERT, LM loss for GPT-2 language-model runs, span corruption for T5) on a
  // held-out sample of general text, before training, at every validation and on the best model.
  struct Forgetting
  {
    std::string reference;  // a text file (CSV/JSON Lines with a text column, or plain text); "": off
    int rows = 200;         // rows of it read
    double rehearsal = 0.0; // share of steps that add a batch of the objective on the reference text
    // An earlier classification or tagging run (same model.path): this run starts from its best
    // model, keeps its head (frozen) and measures that task's metric on its validation split.
    std::string previousRun;
  } forgetting;

  struct MultiTask
  {
    std::string sampling = "proportional"; // proportional (to each task's batches) | round_robin
    std::vector<AuxiliaryTask> tasks;
  } multitask;

  struct Output
  {
    std::string runs = "runs"; // where run folders go
    bool saveBest = true;
    bool saveLast = true;
  } output;

  // An auxiliary task as an experiment of its own (its kind and data; everything else shared).
  ExperimentConfig auxiliaryConfig(const AuxiliaryTask &task) const;
  bool isMultiTask() const { return !multitask.tasks.empty(); }

  // The folder the config came from (relative paths are resolved against it). Paths may also
  // start with $ASSETS/ (the fetched assets) or $WORKSPACE/ (the workspace).
  std::filesystem::path baseDir;

  std::filesystem::path resolve(const std::string &path) const;
  // The same config with every file and folder it names made absolute ($ASSETS, $WORKSPACE and
  // relative paths resolved): what a run folder's config.yaml holds, and what another process
  // (a data-parallel rank) can read from anywhere.
  ExperimentConfig withAbsolutePaths() const;
  // The metric early stopping and "best" use, and whether higher is better.
  std::string selectionMetric() const;
  bool higherIsBetter() const;
  // Language modelling: causal LM, instruction tuning, text-to-text (seq2seq), and the denoising
  // objectives.
  bool isLanguageModelling() const
  {
    return task.kind == "causal_lm" || task.kind == "instruction" || isSeq2Seq() || isDenoising();
  }
  bool isDenoising() const { return task.kind == "masked_lm" || task.kind == "span_corruption"; }
  // T5 text-to-text: the (templated) instruction is the encoder's input, the answer the decoder's.
  bool isSeq2Seq() const { return task.kind == "seq2seq"; }
  // Tasks of prompt → answer pairs, scored by generating answers (BLEU, ROUGE-L, exact match).
  bool answersPrompts() const { return task.kind == "instruction" || isSeq2Seq(); }
  // Runs on an encoder-decoder (T5).
  bool isEncoderDecoder() const { return task.kind == "span_corruption" || isSeq2Seq(); }

  // The resolved config as YAML (every field, defaults included).
  std::string toYaml() const;
};

// One problem in a config file: where it is, which field, what is wrong.
struct ConfigProblem
{
  int line = 0;   // 1-based; 0 when unknown
  int column = 0; // 1-based
  std::string field; // dotted path, e.g. training.learning_rate
  std::string message;
  std::string str(const std::string &file) const; // "FILE:LINE:COL: FIELD: MESSAGE"
};

struct ConfigResult
{
  ExperimentConfig config;
  std::vector<ConfigProblem> problems; // every problem at once; empty when valid
  bool ok() const { return problems.empty(); }
};

// One field of the schema, described for forms and documentation: its kind, valid range or
// choices, and what it means.
struct ConfigFieldInfo
{
  std::string path;  // dotted, e.g. strategy.lora.r
  std::string kind;  // number | integer | boolean | text | choice | list | map | tasks
  double lo = 0, hi = 0;            // number, integer
  std::vector<std::string> choices; // choice
  std::string help;
  std::string range() const; // "1 – 4096", "adamw, adam, sgd", "true or false" ...
};
const std::vector<ConfigFieldInfo> &configFields();
const ConfigFieldInfo *configField(const std::string &path); // nullptr when unknown

// Parses and validates a YAML experiment. `overrides` are "dotted.key=value" pairs applied on top
// (the CLI's --set). Never throws for bad content: every problem is in the result.
ConfigResult loadExperimentConfig(const std::filesystem::path &file, const std::vector<std::string> &overrides = {});
ConfigResult parseExperimentConfig(const std::string &yaml, const std::filesystem::path &baseDir,
                                   const std::vector<std::string> &overrides = {});

// The YAML text with dottedKey set to value (YAML), maps created as needed (comments are lost).
// Throws YAML::Exception for text that is not YAML.
std::string withOverride(const std::string &yaml, const std::string &dottedKey, const std::string &value);

// The closest of candidates to word (edit distance), or "" when nothing is close.
std::string closestMatch(const std::string &word, const std::vector<std::string> &candidates);

} // namespace tunebench
